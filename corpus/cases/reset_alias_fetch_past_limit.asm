; reset_alias_fetch_past_limit.asm — an instruction that straddles the CS limit in the
; reset state's CS: real-mode #GP (interrupt 13) through the IVT.
;
; Same start as reset_alias_limit_fetch: SDM reset state (preset `intel`, CS AR 0x93)
; with CS = F000 and the hidden base moved to 0x00FF0000 so that F000:FFF0 is linear
; 0xFFFFF0, the last 16 bytes of the 16 MiB RAM.
;   FF00: copies a #GP handler to 0000:0600 (CS: source override), points IVT[13] at it,
;         and jumps to FFFE;
;   FFFE: B8 34 — `mov ax, imm16` whose second immediate byte would be at offset 0x10000,
;         beyond the 64 KiB limit (and beyond the end of RAM, linear 0x1000000). A fetch past
;         the CS limit is a segment overrun: SDM Vol. 3A 6.15 "Interrupt 13" ("exceeding the
;         segment limit when using CS, DS, ES, FS, or GS segments"), delivered in real mode
;         as interrupt 13 through the IVT (Vol. 3B, "8086 Emulation", table "Real-Address
;         Mode Exceptions and Interrupts": vector 13, "CS, DS, ES, FS, or GS segment
;         overrun"), a fault: CS:IP of the instruction (F000:FFFE) is pushed, no error code,
;         nothing beyond the limit is read.
;   0000:0600: the handler (first instruction a NOP), pops IP, CS and FLAGS into BX, CX, DX
;         for the golden, prints "GP" and exits.
;
; Oracle: sdm-by-hand. KVM ran the case and its state agrees with the SDM, but its
; single-step (KVM_GUESTDBG_SINGLESTEP) reports the faulting instruction, the delivery and
; the handler's first instruction as one step (tests/oracle/kvm_stepper.hpp). The golden is
; KVM's with that step split in two — the delivery ending at 0000:0600, then the NOP — and
; the instruction count one higher (docs/known-differences.md, KVM, "kvm-fault-step"). The
; NOP changes nothing but IP, so the split step's verdicts are those of the merged one.

bits 16
org 0xFF00

setup:
    cld
    xor ax, ax
    mov es, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7000
    mov si, handler
    mov di, 0x0600
    mov cx, handler_len
    cs rep movsb
    mov word [13 * 4], 0x0600
    mov word [13 * 4 + 2], 0x0000
    mov ax, 0x1111
    jmp near straddle

handler:                          ; runs at 0000:0600
    nop
    pop bx                        ; IP of the faulting instruction: FFFE
    pop cx                        ; its CS: F000
    pop dx                        ; FLAGS
    mov si, 0x0600 + (message - handler)
    mov bp, message_len
    xchg cx, bp
    push dx
    mov dx, 0xE9
    rep cs outsb
    pop dx
    xchg cx, bp
    mov al, 0x0D
    out 0xF4, al
message: db "GP", 10
message_len equ $ - message
handler_len equ $ - handler

    times 0xFFF0 - 0xFF00 - ($ - $$) db 0xF4
reset_vector:                     ; FFF0
    jmp near setup
    times 0xFFFE - 0xFFF0 - 3 db 0xF4
straddle:                         ; FFFE, FFFF: the imm16 would end at 0x10000
    db 0xB8, 0x34
