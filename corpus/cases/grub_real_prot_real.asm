; grub_real_prot_real.asm — a GRUB-style pair of mode-switch subroutines (in the manner of
; grub-core/kern/i386/realmode.S real_to_prot / prot_to_real; written fresh), called from
; both sides:
;
;   real_to_prot: entered from 16-bit real mode by a *32-bit* near call (`66 E8`, so a
;     dword return address is pushed on the 16-bit stack); clears interrupts, lgdt with a
;     32-bit operand (`66 67 0F 01`), sets PE, `66 EA` far jump to the 32-bit code segment,
;     reloads DS/ES/FS/GS/SS, moves the return address from the real-mode stack to the
;     protected-mode stack (a different ESP), saves the real-mode IDTR (sidt) and loads
;     the protected-mode one, and returns with a 32-bit `ret` into 32-bit code;
;   the caller adds up a table in protected mode, then calls
;   prot_to_real: saves ESP, moves the return address to the real-mode stack, loads 16-bit
;     64 KiB data segments, far jumps to a 16-bit code segment, clears PE, `66 EA` far jump
;     to real-mode CS 0, zeroes DS/ES/FS/GS/SS, restores the real-mode IDTR, and returns
;     with `o32 ret` (66 C3) — a 32-bit return address popped in real mode.
; Back in real mode the caller prints "GRUB" and the sum's low byte as a letter, and exits.

bits 16
org 0x1000

%include "pm_entry.inc"

PM_CODE     equ 0x08
PM_DATA     equ 0x10
RM_CODE16   equ 0x18
RM_DATA16   equ 0x20
REAL_STACK  equ 0x7000
PROT_STACK  equ 0x9000

start:
    cli
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov esp, REAL_STACK
    call dword real_to_prot         ; 66 E8: a dword return address
bits 32
    ; --- protected mode, 32-bit ---
    mov esi, table
    mov ecx, table_len
    xor ebx, ebx
.add:
    lodsb
    add bl, al
    loop .add
    call prot_to_real
bits 16
    ; --- real mode again ---
    mov si, message
    mov cx, message_len
    mov dx, 0xE9
    rep outsb
    mov al, bl                      ; 'A' + sum of the table
    out dx, al
    mov al, 0x10
    out 0xF4, al

real_to_prot:
    cli
    xor ax, ax
    mov ds, ax
    a32 o32 lgdt [gdt_descriptor]
    mov eax, cr0
    or al, 1
    mov cr0, eax
    jmp dword PM_CODE:.prot
bits 32
.prot:
    mov ax, PM_DATA
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax
    mov eax, [esp]                  ; the return address, on the real-mode stack
    mov esp, [prot_stack]
    mov ebp, esp
    mov [esp], eax                  ; now on the protected-mode stack
    xor eax, eax
    sidt [real_idt]
    lidt [prot_idt]
    ret

prot_to_real:
    lgdt [gdt_descriptor]
    mov [prot_stack], esp
    mov eax, [esp]
    mov [REAL_STACK], eax           ; the return address goes to the real-mode stack top
    mov eax, REAL_STACK
    mov esp, eax
    mov ebp, eax
    mov ax, RM_DATA16
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax
    jmp RM_CODE16:.code16
bits 16
.code16:
    mov eax, cr0
    and eax, ~1
    mov cr0, eax
    jmp dword 0x0000:.real
.real:
    xor eax, eax
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax
    lidt [real_idt]
    o32 ret                         ; 66 C3: the dword pushed by `call prot_to_real`

table: db 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25
    db 0x41 - (325 & 0xFF)          ; makes the sum 'A' (0x41) mod 256
table_len equ $ - table
message: db "GRUB "
message_len equ $ - message

align 4
prot_stack: dd PROT_STACK
real_idt:   dw 0
            dd 0
prot_idt:   dw 0
            dd 0

align 8
gdt:
    dq 0
    dq 0x00CF9A000000FFFF           ; 0x08 flat 32-bit code
    dq 0x00CF92000000FFFF           ; 0x10 flat 32-bit data
    dq 0x00009A000000FFFF           ; 0x18 16-bit code, base 0, 64 KiB
    dq 0x000092000000FFFF           ; 0x20 16-bit data, base 0, 64 KiB
TABLE_DESCRIPTOR gdt
