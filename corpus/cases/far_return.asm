; far_return.asm — far RET in every operand size across real mode, 16-bit and 32-bit
; protected mode, used as a mode-switching jump (the "push cs:ip, retf" idiom).
;
;   real mode:  push cs / push ip / retf (16-bit slots) to a label in the same segment;
;   PE = 1, 66 EA to 32-bit code;
;   P32:        push dword 0x18 / push dword target / retf (32-bit slots) into the 16-bit
;               code segment 0x18: D = 0 from the popped descriptor (SDM Vol. 2B, RET,
;               "Operation", RETURN-TO-SAME-PRIVILEGE-LEVEL);
;   P16:        push dword 0x08 / push dword back32 / `o32 retf` (66 CB: 32-bit slots from
;               16-bit code) back into the 32-bit segment;
;   P32:        push word 0x18 / push word stub / `o16 retf` (66 CB: 16-bit slots from
;               32-bit code) into the 16-bit segment once more;
;   P16:        pushes two words of "parameters" and a return frame, then `retf 4` (RET
;               imm16: pops IP and CS, then releases 4 bytes) into a 16-bit landing pad;
;   prints "RETF" and exits. ESP/SP values along the way end up in registers.

bits 16
org 0x1000

%include "pm_entry.inc"

start:
    cli
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7000
    push cs
    push word real_target
    retf                            ; real mode, 16-bit slots
real_target:
    REAL_TO_PM32 pm32, 0

bits 32
pm32:
    FLAT_DATA_AND_STACK
    push dword 0x18
    push dword pm16_a
    retf                            ; 32-bit slots, into D = 0 code
bits 16
pm16_a:
    mov bp, sp                      ; 0x9000 again: both slots popped
    push dword 0x08
    push dword pm32_back
    o32 retf                        ; 66 CB
bits 32
pm32_back:
    mov edi, esp
    push word 0x18
    push word pm16_b
    o16 retf                        ; 66 CB in 32-bit code: 16-bit slots
bits 16
pm16_b:
    mov si, sp
    push word 0xAAAA                ; two parameter words
    push word 0xBBBB
    push word 0x18
    push word pm16_c
    retf 4                          ; pops IP, CS, then releases the 4 parameter bytes
pm16_c:
    mov cx, sp                      ; back to 0x9000
    mov bx, message
    mov dx, 0xE9
.print:
    mov al, [bx]
    out dx, al
    inc bx
    cmp bx, message + message_len
    jne .print
    mov al, 0x10
    out 0xF4, al

message: db "RETF", 10
message_len equ $ - message

align 8
gdt:
    dq 0
    dq 0x00CF9A000000FFFF           ; 0x08 flat 32-bit code
    dq 0x00CF92000000FFFF           ; 0x10 flat data (B = 1)
    dq 0x00009A000000FFFF           ; 0x18 16-bit code, base 0, 64 KiB
TABLE_DESCRIPTOR gdt
