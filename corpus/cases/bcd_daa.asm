; bcd_daa.asm — DAA, which KVM's instruction emulator does not implement, in real mode at
; CPL 0: the BCD arithmetic a BIOS does on CMOS clock values.
;
; Three packed-BCD additions, each `add al, imm8; daa; lahf`, keeping AL (the BCD result)
; and AH (SF ZF - AF - PF 1 CF as LAHF stores them) in BX, CX and DX. DAA leaves OF
; undefined, so the code never lets an OF from DAA reach the final state: LAHF does not
; copy OF, and a final `cmp ax, ax` sets every flag to a defined value.
;
; What the SDM says (Vol. 2A, DAA, "Operation"; ADD sets AF on a carry out of bit 3):
;   38 + 45: ADD gives 7D, CF = 0, AF = 0. Low nibble D > 9: AL = 83, AF = 1; old AL 7D
;            <= 99 and old CF = 0: CF = 0.  AL = 83, SF 1 ZF 0 AF 1 PF 0 CF 0 -> AH = 92.
;   79 + 35: ADD gives AE, CF = 0, AF = 0. Low nibble E > 9: AL = B4, AF = 1; old AL AE >
;            99: AL = B4 + 60 = 14, CF = 1.  SF 0 ZF 0 AF 1 PF 1 CF 1 -> AH = 17.
;   99 + 01: ADD gives 9A, CF = 0, AF = 0. Low nibble A > 9: AL = A0, AF = 1; old AL 9A >
;            99: AL = 00, CF = 1.  SF 0 ZF 1 AF 1 PF 1 CF 1 -> AH = 57.
; So BX = 0x9283, CX = 0x1714, DX = 0x5700; after `cmp ax, ax` (SUB: CF 0, PF 1, AF 0,
; ZF 1, SF 0, OF 0) and CLI, EFLAGS = 0x46; `mov al, 0x10` makes AX = 0x5710.
;
; What KVM does: the first DAA ends the run in KVM_EXIT_INTERNAL_ERROR (suberror
; emulation, IP at the DAA) — tried here; see tests/oracle/kvm_stepper.hpp.
;
; Oracle: sdm-by-hand. The first 7 steps and the state before the first DAA are KVM's (the
; case re-run on KVM with a budget that stops there); the 16 steps from the first DAA on and
; the final EAX/EBX/ECX/EDX/EIP/EFLAGS were written by hand from the SDM as above. Nothing
; from the DAA on touches a segment, control or descriptor-table register, so every hand
; step keeps the verdicts of the step before (valid).

bits 16
org 0x7C00

start:
    cli
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7C00
    mov al, 0x38
    add al, 0x45
    daa
    lahf
    mov bx, ax
    mov al, 0x79
    add al, 0x35
    daa
    lahf
    mov cx, ax
    mov al, 0x99
    add al, 0x01
    daa
    lahf
    mov dx, ax
    cmp ax, ax
    mov al, 0x10
    out 0xF4, al
