; reset_alias_limit_fetch.asm — the hardware reset state's CS (selector F000 with a hidden
; base that is not selector x 16) and instruction fetch right up to the segment limit.
;
; At reset CS = F000 with base FFFF0000 and EIP = FFF0 (SDM Vol. 3A 10.1.4, "First
; Instruction Executed"). RAM is 16 MiB at address 0 in both engines, so the reset vector
; FFFFFFF0 is not in RAM: the case keeps everything else of the SDM reset state (preset
; `intel`: CS access rights 0x93, a data segment) and moves the hidden CS base to 0x00FF0000,
; the top 64 KiB of RAM, so that CS:FFF0 is linear 0xFFFFF0 — like the real reset vector,
; the last 16 bytes below the top of memory. KVM's real-mode check fails on CS.base
; (FF0000 != F000 x 16) until the first far jump reloads CS.
;
;   FFF0: jmp near back into the image (as the BIOS reset vector jumps);
;   FF00: copy the real-mode stub to 0000:0600 with a CS: source override (DS = CS would
;         give base F0000, not the hidden FF0000), read the word at CS:FFFE — the last word
;         within the limit —, and jump to FFFB;
;   FFFB: the 5-byte far jump `EA 00 06 00 00` whose last byte is at offset FFFF, the limit;
;   0000:0600: the stub prints "RESET" and exits through isa-debug-exit.

bits 16
org 0xFF00

setup:
    cld
    xor ax, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7000
    mov si, stub
    mov di, 0x0600
    mov cx, stub_len
    cs rep movsb
    mov bx, [cs:0xFFFE]           ; the selector word of the far jump below
    mov dx, cs                    ; F000
    jmp near at_limit

stub:                             ; runs at 0000:0600
    mov si, 0x0600 + (message - stub)
    mov cx, message_len
    mov dx, 0xE9
    rep cs outsb
    mov al, 0x10
    out 0xF4, al
message: db "RESET", 10
message_len equ $ - message
stub_len equ $ - stub

    times 0xFFF0 - ($ - $$) - 0xFF00 db 0xF4
reset_vector:                     ; FFF0
    jmp near setup
    times 0xFFFB - 0xFFF0 - 3 db 0xF4
at_limit:                         ; FFFB..FFFF
    jmp 0x0000:0x0600
