; stale_selectors.asm — stale real-mode selectors with low bits set, right after CR0.PE = 1.
;
; Real mode leaves DS = 07C3 (RPL 3), ES = 0F02 (RPL 2), FS = 0B01 (RPL 1), GS = 1233
; (RPL 3) and SS = 1235 (RPL 1). Once PE = 1 those selectors are read as protected-mode
; selectors by the VM-entry checks (SDM Vol. 3C 26.3.1.2; KVM's guest_state_valid):
;   - SS.RPL (1) != CS.RPL (0): fails until SS is reloaded;
;   - DS/ES/FS/GS: DPL (0, from the real-mode cache 0x93) < RPL: each fails until reloaded.
; The code never far-jumps: it stays in 16-bit protected mode on the real-mode CS (selector
; 0, RPL 0, cached code segment 0x9B from KVM's reset) and reloads the registers one by one,
; SS first (with `pop ss`), then DS, ES, FS and GS with different instructions (mov, pop,
; lds/les style loads). The case stops when the state turns valid: after the last reload.

bits 16
org 0x7C00

%include "pm_entry.inc"

start:
    cli
    mov ax, 0x07C3
    mov ds, ax
    mov ax, 0x0F02
    mov es, ax
    mov ax, 0x0B01
    mov fs, ax
    mov ax, 0x1233
    mov gs, ax
    mov ax, 0x1235
    mov ss, ax
    mov sp, 0x0100
    lgdt [cs:gdt_descriptor]
    mov eax, cr0
    or al, 1
    mov cr0, eax                ; PE = 1 with every stale selector in place
    push word 0x10
    pop ss                      ; SS: RPL 0, DPL 0 (base 0 now: SP is reused as is)
    mov sp, 0x7000
    mov ax, 0x10
    mov ds, ax                  ; DS
    push word 0x10
    pop es                      ; ES
    lfs bx, [cs:far_pointer]    ; FS from memory: 0x10:0x1234
    mov ax, 0x10
    mov gs, ax                  ; GS: the last stale selector goes, the state is valid
    hlt

far_pointer: dw 0x1234, 0x10

align 8
gdt:
    dq 0
    dq 0x00009A000000FFFF       ; 0x08 16-bit code, base 0, 64 KiB
    dq 0x00CF92000000FFFF       ; 0x10 data, base 0, 4 GiB
TABLE_DESCRIPTOR gdt
