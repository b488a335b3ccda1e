; pm16_code_segment.asm — 16-bit protected mode proper: a code segment with D = 0 and a
; non-zero base, 16-bit data and stack segments, and the 16-bit defaults that go with them.
;
; Real mode at 0000:7C00 sets up a GDT with a 16-bit code segment based at 0x7C00 (so the
; offsets inside it are the labels' offsets from the image start), a 16-bit data segment
; on the same bytes, a 16-bit stack segment (B = 0) at 0x20000, an LDT with one data
; descriptor, and a 16-bit TSS (type 1). After PE = 1 a 16-bit far jump (EA, no 66) enters
; CS = 0x08 at offset `pm16 - $$`; then:
;   - DS/ES = 0x10, SS = 0x18 (B = 0: SP, not ESP, is the stack pointer), FS = LDT
;     selector 0x04 (TI = 1) after `lldt`, GS = null; `ltr` a 16-bit TSS (type 1 -> busy 3);
;   - pusha / popa, push/pop of a segment register, a near call and ret (16-bit return
;     address), `o32 push`/`pop` (66 prefix: 32-bit), a word and a dword read through FS;
;   - prints "PM16" and exits from 16-bit protected mode.

bits 16
org 0

LOAD equ 0x7C00

start:
    cli
    xor ax, ax
    mov ds, ax
    lgdt [LOAD + gdt_descriptor]
    mov eax, cr0
    or al, 1
    mov cr0, eax
    jmp 0x08:pm16                   ; EA ptr16:16 into the 16-bit code segment

pm16:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ax, 0x18
    mov ss, ax
    mov sp, 0x1000
    mov ax, 0x28
    lldt ax
    mov ax, 0x04                    ; LDT entry 0, TI = 1, RPL 0
    mov fs, ax
    xor ax, ax
    mov gs, ax
    mov ax, 0x20
    ltr ax                          ; 16-bit TSS: type 1 becomes 3 (busy)
    mov ax, 0x1111
    mov bx, 0x2222
    pusha
    xor ax, ax
    xor bx, bx
    popa
    push ds
    pop cx                          ; CX = 0x10
    call near add_three
    o32 push dword 0x12345678
    pop dx                          ; 0x5678
    pop di                          ; 0x1234
    mov si, [fs:0]                  ; LDT data segment based at the message
    mov ebp, [fs:0]
    mov si, message
    mov cx, message_len
    mov dx, 0xE9
    rep outsb
    mov al, 0x10
    out 0xF4, al

add_three:
    add ax, 3
    ret

message: db "PM16", 10
message_len equ $ - message

align 8
gdt:
    dq 0
    dw 0xFFFF, LOAD, 0x9A00, 0x0000                 ; 0x08 16-bit code, base 0x7C00
    dw 0xFFFF, LOAD, 0x9200, 0x0000                 ; 0x10 16-bit data, base 0x7C00
    dw 0xFFFF, 0x0000, 0x9202, 0x0000               ; 0x18 16-bit stack, base 0x20000, B = 0
    dw 0x002B, LOAD + tss16, 0x8100, 0x0000         ; 0x20 16-bit TSS (available, type 1)
    dw ldt_end - ldt - 1, LOAD + ldt, 0x8200, 0     ; 0x28 LDT
gdt_end:
gdt_descriptor:
    dw gdt_end - gdt - 1
    dd LOAD + gdt

align 8
ldt:
    dw 0x00FF, LOAD + message, 0x9200, 0x0000       ; LDT 0: data, base = message
ldt_end:
align 4
tss16: times 0x2C db 0
