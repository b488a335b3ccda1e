; pm_lar_lsl_verr_arpl.asm — the descriptor-inspection instructions (LAR, LSL, VERR, VERW)
; and ARPL in 32-bit protected mode at CPL 0: KVM's instruction emulator implements none of
; them.
;
; Each result's ZF is collected into EBP (bit string, first test in the highest bit) with
; `setz al; lea ebp, [ebp*2 + eax]` (no flags touched). SDM Vol. 2A/2B, "Operation":
;   LAR ecx, 0x10  data, dword 2 = 0x00409300: EAX-form loads dword 2 AND 00FxFF00H (limit
;                  19:16 are 0 here, so no implementation-specific nibble) -> 0x00409300, ZF 1
;   LSL edx, 0x18  byte-granular limit 0x12345 -> 0x12345, ZF 1
;   LSL esi, 0x40  limit 0x0000F with G = 1 -> (0xF << 12) | 0xFFF = 0xFFFF, ZF 1
;   LAR edi, 0x20  LDT descriptor (type 2 is valid for LAR) -> 0x00008200, ZF 1
;   LSL edi, 0x30  a call gate: not valid for LSL -> ZF 0, EDI unchanged
;   VERR 0x28      execute-only code: not readable -> ZF 0
;   VERR 0x08      readable code, DPL 0 >= CPL and RPL -> ZF 1
;   VERW 0x10      writable data -> ZF 1
;   VERW 0x08      code is never writable -> ZF 0
;   ARPL bx, ax    BX = 0x0008 (RPL 0) < AX RPL 3 -> BX = 0x000B, ZF 1
;   ARPL bx, ax    BX RPL 3 >= AX RPL 1 -> unchanged, ZF 0
; So EBP = 0b11110011010 = 0x79A, ECX = 0x00409300, EDX = 0x12345, ESI = 0xFFFF,
; EDI = 0x8200, EBX = 0x000B. These instructions change only ZF: the other flags are those
; of the `sub eax, eax` before (PF 1, the rest 0) and ZF is the last ARPL's 0: EFLAGS = 0x6
; (IF cleared by CLI). EAX = 0x10 after the final `mov al, 0x10`.
;
; What KVM does: the first LAR ends the run in KVM_EXIT_INTERNAL_ERROR (suberror emulation)
; — tried here.
;
; Oracle: sdm-by-hand. The golden's first 16 steps and the state before the LAR are KVM's
; (re-run with a budget that stops before it); the rest and the final registers are written
; by hand from the SDM as above. No segment, control or descriptor-table register changes
; after that point, so every hand step keeps the verdicts of the step before (valid).
; Every descriptor already has its accessed bit set, so loading one writes nothing back.

bits 16
org 0x1000

%include "pm_entry.inc"

start:
    cli
    xor ax, ax
    mov ds, ax
    REAL_TO_PM32 pm32, 0

bits 32
pm32:
    FLAT_DATA_AND_STACK
    mov ebp, 0
    sub eax, eax                    ; EAX = 0, EFLAGS = 0x46
    mov ebx, 0x10
    lar ecx, ebx                    ; KVM: internal error
    setz al
    lea ebp, [ebp * 2 + eax]
    mov ebx, 0x18
    lsl edx, ebx
    setz al
    lea ebp, [ebp * 2 + eax]
    mov ebx, 0x40
    lsl esi, ebx
    setz al
    lea ebp, [ebp * 2 + eax]
    mov ebx, 0x20
    lar edi, ebx
    setz al
    lea ebp, [ebp * 2 + eax]
    mov ebx, 0x30
    lsl edi, ebx
    setz al
    lea ebp, [ebp * 2 + eax]
    mov bx, 0x28
    verr bx
    setz al
    lea ebp, [ebp * 2 + eax]
    mov bx, 0x08
    verr bx
    setz al
    lea ebp, [ebp * 2 + eax]
    mov bx, 0x10
    verw bx
    setz al
    lea ebp, [ebp * 2 + eax]
    mov bx, 0x08
    verw bx
    setz al
    lea ebp, [ebp * 2 + eax]
    mov ax, 0x0003
    arpl bx, ax                     ; BX = 0x0008 -> 0x000B, ZF 1
    setz al
    lea ebp, [ebp * 2 + eax]
    mov ax, 0x0001
    arpl bx, ax                     ; RPL 3 >= 1: unchanged, ZF 0
    setz al
    lea ebp, [ebp * 2 + eax]
    mov al, 0x10
    out 0xF4, al

align 8
gdt:
    dq 0
    dq 0x00CF9B000000FFFF           ; 0x08 flat 32-bit code, readable, accessed
    dq 0x004093000000FFFF           ; 0x10 data, B = 1, G = 0, limit 0xFFFF, accessed
    dq 0x0001930000002345           ; 0x18 data, limit 0x12345, G = 0
    dw 7, ldt, 0x8200, 0x0000       ; 0x20 LDT (type 2)
    dq 0x0040990000000FFF           ; 0x28 execute-only code, accessed
    dw 0, 0x08, 0x8C00, 0x0000      ; 0x30 32-bit call gate
    dq 0
    dq 0x008093000000000F           ; 0x40 data, limit 0xF with G = 1
TABLE_DESCRIPTOR gdt
align 8
ldt: dq 0
