; mov_ss_same_base_pm.asm — MOV SS that does not change the SS base must still be a reload.
;
; Real mode sets SS = 0x0001 (base 0x10, RPL 1). After CR0.PE = 1 the VM-entry checks fail
; on SS.RPL (1) != CS.RPL (0) and SS.DPL (0) != SS.RPL (1). The code then loads SS with
; GDT selector 0x10 whose descriptor has base 0x10 — the same base SS already has — and
; limit 0xFFFF, writable data. A MOV SS always reloads the whole register from the
; descriptor (SDM Vol. 2B, MOV, "Operation": SS <- segment selector; SS <- segment
; descriptor) whatever the old base was, so the selector (RPL 0) and the cached attributes
; change and the state turns valid at once. An implementation that compared bases to skip
; the reload, or that recomputed "emulation required" only when a base changed (KVM does
; it after every segment write), would keep the stale state. The case stops right after
; that MOV SS: the final state also shows the MOV-SS interrupt shadow (SDM Vol. 3A 6.8.3).

bits 16
org 0x7C00

%include "pm_entry.inc"

start:
    cli
    xor ax, ax
    mov ds, ax
    lgdt [gdt_descriptor]
    mov ax, 0x0001
    mov ss, ax                      ; base 0x10, RPL 1
    mov sp, 0x6FF0                  ; SS:SP = linear 0x7000
    push word 0xA55A                ; a word on the stack: [0x6FFE + 0x10]
    mov eax, cr0
    or al, 1
    mov cr0, eax                    ; PE = 1: SS.RPL != CS.RPL
    mov bx, 0x10
    mov ss, bx                      ; same base 0x10: still a reload, the state is valid
    pop cx                          ; not reached: the case stops after the MOV SS

align 8
gdt:
    dq 0
    dq 0x00009A000000FFFF           ; 0x08 16-bit code, base 0
    dq 0x000092000010FFFF           ; 0x10 data, base 0x10, 64 KiB
TABLE_DESCRIPTOR gdt
