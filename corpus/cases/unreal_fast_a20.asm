; unreal_fast_a20.asm — the unreal-mode ("big real mode") set-up bootloaders use to load
; a kernel above 1 MiB, with A20 enabled through System Control Port A (port 0x92).
;
;   1. fast A20: read port 0x92, set bit 1, keep bit 0 (reset) clear, write it back;
;   2. lgdt; CR0.PE = 1; load a flat 4 GiB data selector into DS and ES; CR0.PE = 0;
;   3. reload DS and ES with 0 in real mode: a real-mode segment load changes selector and
;      base only, the hidden 4 GiB limit and attributes survive (SDM Vol. 3A, "Switching
;      Back to Real-Address Mode": the limit and attributes must be set up in protected
;      mode because real mode does not load them; KVM's emulator behaves the same) — the state is invalid for VM entry (limit != FFFF)
;      for the rest of the run, so KVM emulates every instruction;
;   4. a 64 KiB `a32 rep movsd` from linear 0 to linear 0x100000 (above 1 MiB), then
;      `a32 repe cmpsd` over both copies, and a dword written and read back at 0x1FFFFC;
;   5. reports "UNREAL" and the outcome on the debug console, exits through port 0xF4.
; Without the surviving limit any of the a32 accesses above offset 0xFFFF would #GP.

bits 16
org 0x7C00

%include "pm_entry.inc"

start:
    cli
    in al, 0x92
    or al, 0x02
    and al, 0xFE
    out 0x92, al
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7C00
    lgdt [gdt_descriptor]
    mov eax, cr0
    or al, 1
    mov cr0, eax
    mov bx, 0x08
    mov ds, bx
    mov es, bx
    and al, 0xFE
    mov cr0, eax
    jmp short .real
.real:
    xor ax, ax
    mov ds, ax
    mov es, ax
    cld
    xor esi, esi
    mov edi, 0x100000
    mov ecx, 0x10000 / 4
    a32 rep movsd
    xor esi, esi
    mov edi, 0x100000
    mov ecx, 0x10000 / 4
    a32 repe cmpsd
    jne fail
    mov ebx, 0x1FFFFC
    mov dword [ebx], 0xC0DEBABE
    mov eax, [ebx]
    cmp eax, 0xC0DEBABE
    jne fail
    mov si, ok_msg
    mov cx, ok_len
    mov dx, 0xE9
    rep outsb
    mov al, 0x10
    out 0xF4, al
fail:
    mov al, 'X'
    out 0xE9, al
    mov al, 0x11
    out 0xF4, al

ok_msg: db "UNREAL", 10
ok_len equ $ - ok_msg

align 8
gdt:
    dq 0
    dq 0x00CF92000000FFFF       ; 0x08 flat data, base 0, 4 GiB, G=1, B=1
TABLE_DESCRIPTOR gdt
