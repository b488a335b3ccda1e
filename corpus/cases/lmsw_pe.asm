; lmsw_pe.asm — entering protected mode with LMSW (the 80286 way, still used by some
; trampolines), and what LMSW can and cannot change.
;
; SDM Vol. 2A, LMSW: loads CR0 bits 0-3 (PE, MP, EM, TS) from the source; "the PE flag ...
; can be set, but it cannot be cleared" by LMSW; bits 4-31 are unaffected. SMSW r16 stores
; CR0 bits 0-15.
;   - from the SDM reset state (preset `intel`: CR0 = 0x60000010, CS AR 0x93): `smsw ax`,
;     `or al, 1`, `lmsw ax` -> CR0 = 0x60000011, PE = 1: the VM-entry checks now fail on CS
;     (a data segment) and TR (0x82) exactly as after a MOV to CR0;
;   - far jump (EA ptr16:16) to a 16-bit code segment, data segments, ltr;
;   - `lmsw 0x000E` (PE clear, MP/EM/TS set) -> CR0 = 0x6000001F: PE stays 1;
;   - `clts` -> TS cleared; `smsw` into BX, CX and a memory word records each value;
;   - `lmsw 0` -> MP, EM cleared, PE still 1: CR0 = 0x60000011;
;   - prints "LMSW" and exits from protected mode.

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
    smsw ax
    or al, 1
    lmsw ax                         ; PE = 1
    jmp 0x08:pm16
pm16:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov ax, 0x18
    ltr ax
    mov ax, 0x000E
    lmsw ax                         ; tries to clear PE: it stays set
    smsw bx                         ; 0x001F
    clts
    smsw cx                         ; 0x0017
    xor ax, ax
    lmsw ax                         ; MP, EM cleared; PE stays
    smsw [saved_msw]                ; 0x0011
    mov si, [saved_msw]
    mov dx, 0xE9
    mov al, 'L'
    out dx, al
    mov al, 'M'
    out dx, al
    mov al, 'S'
    out dx, al
    mov al, 'W'
    out dx, al
    mov al, 0x10
    out 0xF4, al

saved_msw: dw 0

align 8
gdt:
    dq 0
    dq 0x00009A000000FFFF           ; 0x08 16-bit code, base 0
    dq 0x000092000000FFFF           ; 0x10 16-bit data, base 0
    dw 0x0067, tss, 0x8900, 0x0000  ; 0x18 32-bit TSS
TABLE_DESCRIPTOR gdt
align 4
tss: times 0x68 db 0
