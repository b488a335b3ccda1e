; say-and-spin.asm: a diskette boot sector that prints one line through INT 10h and then waits
; for interrupts, forever (tests/boot/output_while_running.sh: the line must reach a pipe while
; the boot still runs). A 1.44M image: nasm -f bin -o say-and-spin.img say-and-spin.asm
bits 16
org 0x7C00
start:
    xor ax, ax
    mov ds, ax
    mov si, marker
.next:
    lodsb
    test al, al
    jz .done
    mov ah, 0x0E            ; teletype output (SeaBIOS's serial console carries it to COM1)
    mov bx, 0x0007
    int 0x10
    jmp .next
.done:
    sti                     ; timer ticks go on: SeaBIOS flushes its serial console on them
.spin:
    hlt                     ; virtual time skips to the next tick: the line is out within two
    jmp .spin               ; ticks in little wall time, with or without sanitizers
marker:
    db "transit86-spin-marker: printed, now spinning", 13, 10, 0
    times 510 - ($ - $$) db 0
    dw 0xAA55
    times 1474560 - ($ - $$) db 0
