; call_gate.asm — a far CALL through a 32-bit call gate at the same privilege level, and
; the far RET back.
;
; 32-bit protected mode (CPL 0) with a GDT call gate at selector 0x28: type 0xC (32-bit
; call gate), DPL 0, present, parameter count 0, target selector 0x08 (the flat code
; segment) and offset `gate_target`. `call 0x28:0` — the offset in the instruction is
; ignored for a gate. SDM Vol. 2A, CALL, "Operation", CALL-GATE -> SAME-PRIVILEGE (32-bit
; gate): Push(CS) (padded to 32 bits), Push(EIP); CS <- gate's selector with RPL = CPL;
; EIP <- gate's offset. Then in the target:
;   EBX <- [ESP] (the return EIP), ECX <- zero-extended word at [ESP + 4] (the return CS,
;   0x0008; the pad's upper half is implementation-specific, so only the word is read);
;   `retf` (RET far, same privilege): EIP <- Pop(), CS <- Pop() (32-bit slots).
; Back after the CALL: prints "GATE" and exits.
;
; What KVM does (tried here): the run ends at the CALL in KVM_EXIT_INTERNAL_ERROR (suberror
; emulation): KVM's emulator has no call gates (em_call_far loads CS through
; __load_segment_descriptor, which accepts only code-segment descriptors for CS). The #GP
; handler below exits with code 0x0D should an implementation fault on the gate instead.
;
; Oracle: sdm-by-hand. The golden's steps up to the CALL and the state before it are KVM's
; (re-run with a budget that stops before the CALL); the CALL, the three gate-target
; instructions, the RETF and the final MOV/OUT, and the final EBX/ECX/ESP/EIP/EAX, are
; written by hand from the SDM as above (docs/known-differences.md, KVM). Nothing in them
; changes a segment register other than CS (reloaded with the same descriptor), so their
; verdicts are those of the step before (valid).

bits 16
org 0x1000

%include "pm_entry.inc"

start:
    cli
    xor ax, ax
    mov ds, ax
    REAL_TO_PM32 pm32, 1

bits 32
pm32:
    FLAT_DATA_AND_STACK
    call 0x28:0                     ; through the call gate
    mov al, 0x10
    out 0xF4, al

gate_target:
    mov ebx, [esp]                  ; return EIP
    movzx ecx, word [esp + 4]       ; return CS
    retf

gp_handler:                         ; only if the gate were refused with #GP
    mov al, 0x0D
    out 0xF4, al

align 8
gdt:
    GDT_FLAT_32                     ; null, 0x08 flat 32-bit code, 0x10 flat data
    dq 0
    dq 0
    dw gate_target, 0x08, 0x8C00, 0x0000    ; 0x28 32-bit call gate, DPL 0, 0 params
TABLE_DESCRIPTOR gdt

align 8
idt:
    times 13 dq 0
    dw gp_handler, 0x08, 0x8E00, 0  ; 13: #GP
TABLE_DESCRIPTOR idt
