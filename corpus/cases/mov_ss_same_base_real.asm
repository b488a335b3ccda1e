; mov_ss_same_base_real.asm — a real-mode MOV SS that writes the base SS already has must
; still replace the selector.
;
; In 16-bit protected mode SS is loaded from a descriptor with base 0x10, limit 0xFFFF,
; attributes 0x93 (selector 0x10). Back in real mode (PE = 0, far jump, DS/ES/FS/GS
; reloaded) the VM-entry real-mode check still fails on SS: base 0x10 != selector 0x10 x 16.
; `mov ss, ax` with AX = 0x0001 writes base 0x0001 x 16 = 0x10 — unchanged — and selector 1
; (in real-address mode a segment load sets the selector and base = selector x 16: SDM
; Vol. 3B, "8086 Emulation", "Address Translation in Real-Address Mode"; the limit and
; attributes stay — Vol. 3A, "Switching Back to Real-Address Mode" has the program load
; them before clearing PE for that reason; KVM's emulator does the same). Now base == selector x 16, limit
; 0xFFFF, attributes 0x93: valid at once. An emulator that treated "same base" as "nothing
; changed" would keep selector 0x10 and stay invalid. The case stops right after it, with
; the MOV-SS interrupt shadow.

bits 16
org 0x7C00

%include "pm_entry.inc"

start:
    cli
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7000
    lgdt [gdt_descriptor]
    mov eax, cr0
    or al, 1
    mov cr0, eax
    jmp 0x08:pm16
pm16:
    mov ax, 0x18
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ax, 0x10
    mov ss, ax                      ; base 0x10
    mov eax, cr0
    and al, 0xFE
    mov cr0, eax
    jmp 0x0000:real_again
real_again:
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax                      ; only SS is left: selector 0x10, base 0x10
    mov ax, 0x0001
    mov ss, ax                      ; base 1 x 16 = 0x10, unchanged: still a reload
    hlt                             ; not reached: the case stops after the MOV SS

align 8
gdt:
    dq 0
    dq 0x00009A000000FFFF           ; 0x08 16-bit code, base 0
    dq 0x000092000010FFFF           ; 0x10 data, base 0x10, 64 KiB
    dq 0x000092000000FFFF           ; 0x18 data, base 0, 64 KiB
TABLE_DESCRIPTOR gdt
