; invalid_tr_ud2.asm — an exception raised while the state is invalid for VM entry.
;
; The case starts with TR unusable (KVM's vCPU reset state otherwise). In protected mode an
; unusable TR fails VM entry (SDM Vol. 3C 26.3.1.2: "TR. ... The unusable bit must be 0";
; KVM's guest_state_valid: tr_valid), so from CR0.PE = 1 on the state is invalid and a VMM
; without unrestricted guest must emulate. The code enters 32-bit protected mode with an
; IDT whose vector 6 is a 32-bit interrupt gate, loads every data segment, and executes
; `ud2` without ever loading TR.
;
; What the SDM says: #UD (SDM Vol. 2B, UD2: "Raises an invalid opcode exception in all
; operating modes") is delivered through the IDT; a gate to a CPL-0 code segment from CPL 0
; does not switch stacks and does not read the TSS (Vol. 3A 6.12.1, "Exception- or
; Interrupt-Handler Procedures": "If the handler procedure is going to be executed at the
; same privilege level as the interrupted procedure ... the processor saves the current
; state of the EFLAGS, CS, and EIP registers on the current stack"), so an unusable TR does
; not matter: EFLAGS, CS, EIP are pushed (no error code), IF/TF/NT/RF cleared, and the
; handler runs. It reads the pushed EIP into ECX, prints "UD" and exits with code 6.
;
; What KVM does: on a VMX host, handle_invalid_guest_state cannot inject an exception into a
; state VM entry refuses (vmx.c: an exception pending while emulation is required ends in an
; emulation-failure exit, KVM_EXIT_INTERNAL_ERROR). The KVM on this machine (kvm_pvm, every
; instruction in KVM's emulator, no VM-entry checks) instead delivered the #UD through the
; IDT exactly as the SDM says — tried: handler reached, pushed EIP = the ud2.
;
; Oracle: sdm-by-hand. The golden is KVM's run with one correction: KVM's single-step
; reports the faulting `ud2`, the delivery and the handler's first NOP as one step
; (tests/oracle/kvm_stepper.hpp); that step is split in two and the count is one higher
; (docs/known-differences.md, KVM, "kvm-fault-step"). The NOP changes only EIP, so the
; split step keeps the merged step's verdicts (tr.usable, tr.type: TR was never loaded).

bits 16
org 0x1000

%include "pm_entry.inc"

start:
    cli
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x9000
    REAL_TO_PM32 pm32, 1

bits 32
pm32:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax
    mov esp, 0x9000
    ud2                             ; TR is still unusable: the state is invalid
    mov al, 0x11                    ; not reached
    out 0xF4, al

ud_handler:
    nop
    mov ecx, [esp]                  ; pushed EIP: the ud2
    mov al, 'U'
    out 0xE9, al
    mov al, 'D'
    out 0xE9, al
    mov al, 0x06
    out 0xF4, al

align 8
gdt:
    GDT_FLAT_32                     ; null, 0x08 flat 32-bit code, 0x10 flat data
TABLE_DESCRIPTOR gdt

align 8
idt:
    times 6 dq 0
    dw ud_handler, 0x08, 0x8E00, 0  ; 6: 32-bit interrupt gate, DPL 0
TABLE_DESCRIPTOR idt
