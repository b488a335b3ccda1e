; ap_trampoline_enter.asm — an instruction KVM's emulator does not implement, reached at
; CPL 0 in an AP trampoline while the state is still invalid for VM entry.
;
; Same start as ap_trampoline (SIPI vector 8: CS = 0x0800, base 0x8000, IP = 0, SDM INIT
; state: CS AR 0x93, TR 0x82). The trampoline enters 32-bit protected mode and, before it
; loads TR (so TR 0x82 still fails VM entry and a VMM must emulate), sets up a frame with
; `enter 16, 1` — ENTER with a nesting level above 0. KVM's em_enter gives up on any
; nesting level other than 0 (X86EMUL_UNHANDLEABLE), which ends the run in
; KVM_EXIT_INTERNAL_ERROR (suberror emulation) with EIP at the ENTER: tried here.
;
; What the SDM says (Vol. 2A, ENTER, "Operation", 32-bit operand and stack size, nesting
; level 1): Push(EBP); FrameTemp <- ESP; (no loop for level 1) Push(FrameTemp);
; EBP <- FrameTemp; ESP <- ESP - AllocSize. No flags change. With ESP = 0x9F00 and
; EBP = 0x1234 before it: [0x9EFC] = 0x1234, [0x9EF8] = 0x9EFC, EBP = 0x9EFC,
; ESP = 0x9EF8 - 16 = 0x9EE8, EIP += 4. The code reads both pushed dwords back through EBP
; (ECX = [EBP] = 0x1234, EDX = [EBP - 4] = 0x9EFC), then `mov al, 0x10; out 0xF4, al`.
;
; Oracle: sdm-by-hand. The golden's first 14 steps and the state before the ENTER are KVM's
; (the case re-run on KVM with a budget that stops before the ENTER); the ENTER, the four
; instructions after it and the final EBP/ESP/ECX/EDX/EIP were written by hand from the SDM
; as above (EAX keeps 0x60000010: AL was already 0x10). The five hand steps change no
; segment, control or descriptor-table register, so their verdicts are those of the step before (tr.type: TR is still 0x82).

bits 16
org 0

TRAMPOLINE equ 0x8000

ap_start:
    cli
    mov ax, cs
    mov ds, ax
    o32 lgdt [gdt_pointer]
    mov eax, cr0
    or al, 1
    mov cr0, eax
    jmp dword 0x08:(TRAMPOLINE + ap_pm32)

bits 32
ap_pm32:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov esp, [TRAMPOLINE + ap_stack]
    mov ebp, 0x1234
    enter 16, 1                     ; KVM: internal error (nesting level 1)
    mov ecx, [ebp]                  ; the pushed EBP: 0x1234
    mov edx, [ebp - 4]              ; the pushed frame pointer: 0x9EFC
    mov al, 0x10
    out 0xF4, al

align 4
ap_stack: dd 0x9F00

align 8
gdt:
    dq 0
    dq 0x00CF9A000000FFFF           ; 0x08 flat 32-bit code
    dq 0x00CF92000000FFFF           ; 0x10 flat data
gdt_end:
gdt_pointer:
    dw gdt_end - gdt - 1
    dd TRAMPOLINE + gdt
