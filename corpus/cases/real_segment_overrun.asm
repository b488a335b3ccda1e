; real_segment_overrun.asm — real-mode segment limit faults at offset 0xFFFF: a word access
; that would run past the 64 KiB limit.
;
; SDM Vol. 3B, "8086 Emulation", table "Real-Address Mode Exceptions and Interrupts":
; vector 13 — "CS, DS, ES, FS, or GS segment overrun"; vector 12 — "SS segment overrun"
; (an operand that wraps around the end of the segment: SDM Vol. 2, real-address mode
; exceptions of MOV: "#GP If a memory operand effective address is outside the CS, DS, ES,
; FS, or GS segment limit"; "#SS If a memory operand effective address is outside the SS
; segment limit"). Both are faults: CS:IP of the instruction is pushed, no error code, and
; the instruction has no effect.
;   - `mov ax, [0xFFFF]` (DS): interrupt 13. The handler (first instruction a NOP) counts in
;     DI, takes the pushed IP into CX, advances it past the 3-byte MOV and IRETs;
;   - `mov ax, [bp]` with BP = 0xFFFF (SS by default): interrupt 12. Same handler shape
;     (count in SI, IP into DX, skip the 3 bytes 8B 46 00);
;   - `mov al, [0xFFFF]` (a byte, within the limit) and `mov ax, [0xFFFE]` work;
;   - prints "SEG" and exits.
;
; Oracle: sdm-by-hand. KVM ran the case and its states agree with the SDM, but its
; single-step reports each faulting MOV, the delivery and the handler's first NOP as one
; step (tests/oracle/kvm_stepper.hpp): the golden is KVM's with those two steps split
; (docs/known-differences.md, KVM, "kvm-fault-step").

bits 16
org 0x7C00

start:
    cli
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7000
    mov word [13 * 4], gp_handler
    mov word [13 * 4 + 2], 0
    mov word [12 * 4], ss_handler
    mov word [12 * 4 + 2], 0
    xor si, si
    xor di, di
    mov ax, 0x1111
    mov ax, [0xFFFF]                ; DS overrun: interrupt 13, AX unchanged
    mov bp, 0xFFFF
    mov ax, [bp]                    ; SS overrun: interrupt 12
    mov al, [0xFFFF]                ; a byte at the limit: fine
    mov bx, [0xFFFE]                ; the last word: fine
    mov al, 'S'
    out 0xE9, al
    mov al, 'E'
    out 0xE9, al
    mov al, 'G'
    out 0xE9, al
    mov al, 0x10
    out 0xF4, al

gp_handler:
    nop
    inc di
    mov bp, sp
    mov cx, [bp]                    ; pushed IP
    add word [bp], 3                ; skip the 3-byte MOV
    iret

ss_handler:
    nop
    inc si
    push bp
    mov bp, sp
    mov dx, [bp + 2]                ; pushed IP
    add word [bp + 2], 3            ; skip the 3-byte MOV
    pop bp
    iret
