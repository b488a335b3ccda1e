; pm_int_iret.asm — INT n and IRET in 32-bit protected mode through an interrupt gate and
; a trap gate (KVM's instruction emulator implements neither INT n nor IRET in protected
; mode).
;
; IDT: vector 0x30 = 32-bit interrupt gate (type 0xE), vector 0x31 = 32-bit trap gate
; (type 0xF), both DPL 0 to the flat code segment. With IF = 1 and EFLAGS = 0x246 (after
; STI and `cmp eax, eax`):
;   `int 0x30`: SDM Vol. 2A, INT n, "Operation", INTRA-PRIVILEGE-LEVEL-INTERRUPT (32-bit
;     gate): Push(EFLAGS), Push(CS) (padded to 32 bits), Push(EIP of the next
;     instruction); CS:EIP <- gate; TF, NT, RF, VM <- 0; for an interrupt gate IF <- 0.
;     The handler reads EFLAGS with PUSHFD (0x46: IF clear) into ECX and the return EIP
;     into EBX, then IRETD: SDM Vol. 2A, IRET, RETURN-TO-SAME-PRIVILEGE-LEVEL: EIP, CS,
;     EFLAGS popped (0x246 again: IF back on);
;   `int 0x31`: the same through a trap gate, which leaves IF = 1: EDX = 0x246;
;   then prints nothing, exits with code 0x10 (ESP back at 0x9000).
;
; What KVM does: the first `int 0x30` ends the run in KVM_EXIT_INTERNAL_ERROR (suberror
; emulation) — tried here; see tests/oracle/kvm_stepper.hpp.
;
; Oracle: sdm-by-hand. The golden's first 16 steps and the state before the INT are KVM's
; (re-run with a budget that stops before it); the INT, both handlers, the IRETs, the
; second INT and the exit, and the final EBX/ECX/EDX/ESP/EIP/EFLAGS are written by hand from
; the SDM as above. CS is reloaded with the same descriptor each time and no other segment
; register changes, so every hand step keeps the verdicts of the step before (valid).

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
    sti
    cmp eax, eax                    ; EFLAGS = 0x246
    int 0x30                        ; interrupt gate
    int 0x31                        ; trap gate
    mov al, 0x10
    out 0xF4, al

handler30:
    pushfd
    pop ecx                         ; 0x46: IF cleared by the interrupt gate
    mov ebx, [esp]                  ; return EIP: the second INT
    iretd

handler31:
    pushfd
    pop edx                         ; 0x246: a trap gate leaves IF alone
    iretd

align 8
gdt:
    GDT_FLAT_32                     ; null, 0x08 flat 32-bit code, 0x10 flat data
TABLE_DESCRIPTOR gdt

align 8
idt:
    times 0x30 dq 0
    dw handler30, 0x08, 0x8E00, 0   ; 0x30: 32-bit interrupt gate
    dw handler31, 0x08, 0x8F00, 0   ; 0x31: 32-bit trap gate
TABLE_DESCRIPTOR idt
