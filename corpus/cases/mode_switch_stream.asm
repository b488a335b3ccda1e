; mode_switch_stream.asm — mode changes inside one instruction stream: every switch changes
; how the very next bytes decode, and the IP mask, at once.
;
; The image is 64 KiB at linear 0x10000, entered at 1000:0200 (real mode, CS base 0x10000).
;   real, 16-bit:   lgdt, CR0.PE = 1 (mov cr0);
;   P16 (stale CS, D = 0): `BB 34 12` is `mov bx, 0x1234` (3 bytes); `66 EA` far jump to
;                   the flat 32-bit code segment 0x08;
;   P32:            `B9 78 56 34 12` is `mov ecx, 0x12345678` (5 bytes); `66 BA CD AB` is
;                   `mov dx, 0xABCD` (operand-size prefix now selects 16 bits); a 32-bit
;                   far jump (EA ptr16:32) to the 16-bit code segment 0x10 (base 0x10000) at
;                   offset 0xFFF0;
;   P16 at FFF0:    `66 BE 44 33 22 11` is `mov esi, 0x11223344` (prefix selects 32 bits);
;                   `EB 48` at FFF6: a short jump from IP FFF8 by +0x48 — with a 16-bit
;                   operand size EIP is masked to 16 bits (SDM Vol. 2A, JMP, "Operation":
;                   "IF OperandSize = 16 THEN EIP <- EIP AND 0000FFFFH"), so it lands at
;                   0x0040 of the same segment, not at 0x10040 (which would also exceed
;                   the limit);
;   P16 at 0040:    data segments set to 64 KiB base-0x10000 descriptors, CR0.PE = 0;
;   real (CS still caches selector 0x10 with base 0x10000: base != selector x 16):
;                   `BF 78 56` is `mov di, 0x5678`; far jump 1000:real_done reloads CS;
;   real:           DS/ES/SS = 0x1000, prints "MODES" and exits.

bits 16
org 0

IMAGE equ 0x10000

    jmp near start_real             ; 0x0000

    times 0x40 - ($ - $$) db 0xF4
wrap_target:                        ; 0x0040, reached from FFF6 by a wrapping short jump
    mov ax, 0x18
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov eax, cr0
    and al, 0xFE
    mov cr0, eax
    db 0xBF, 0x78, 0x56             ; real mode, stale CS: mov di, 0x5678
    jmp 0x1000:real_done

    times 0x200 - ($ - $$) db 0xF4
start_real:                         ; 1000:0200
    cli
    lgdt [cs:gdt_descriptor]
    mov eax, cr0
    or al, 1
    mov cr0, eax
    db 0xBB, 0x34, 0x12             ; P16: mov bx, 0x1234
    jmp dword 0x08:(IMAGE + pm32)

bits 32
pm32:
    db 0xB9, 0x78, 0x56, 0x34, 0x12 ; P32: mov ecx, 0x12345678
    db 0x66, 0xBA, 0xCD, 0xAB       ; P32 + 66: mov dx, 0xABCD
    jmp 0x10:0xFFF0

bits 16
real_done:
    mov ax, 0x1000
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x8000
    mov si, message
    mov bp, message_len
    xchg cx, bp
    push dx
    mov dx, 0xE9
    rep outsb
    pop dx
    xchg cx, bp
    mov al, 0x10
    out 0xF4, al

message: db "MODES", 10
message_len equ $ - message

align 8
gdt:
    dq 0
    dq 0x00CF9A000000FFFF           ; 0x08 flat 32-bit code
    dq 0x00009A010000FFFF           ; 0x10 16-bit code, base 0x10000, 64 KiB
    dq 0x000092010000FFFF           ; 0x18 16-bit data, base 0x10000, 64 KiB
gdt_end:
gdt_descriptor:
    dw gdt_end - gdt - 1
    dd IMAGE + gdt

    times 0xFFF0 - ($ - $$) db 0xF4
pm16_top:                           ; 0x10:FFF0
    db 0x66, 0xBE, 0x44, 0x33, 0x22, 0x11   ; P16 + 66: mov esi, 0x11223344
    db 0xEB, 0x48                   ; jmp short: (FFF8 + 48) AND FFFF = 0040
    times 0x10000 - ($ - $$) db 0xF4
