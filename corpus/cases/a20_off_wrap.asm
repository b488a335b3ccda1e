; a20_off_wrap.asm — the 1 MiB wrap with the A20 gate off, and port 0x92 turning it on and
; off again.
;
; With A20 masked, physical address bit 20 is forced to 0, so FFFF:0010 (linear 0x100000)
; reaches physical 0: the 8086 wraparound at 1 MiB (SDM Vol. 3B, "8086 Emulation",
; "Address Translation in Real-Address Mode": an 8086 address wraps at 1 MiB, while IA-32
; processors can form addresses up to 10FFEFH; the A20M# input masks physical address bit
; 20 to emulate the wrap — Vol. 3A, "Processor Management and Initialization"). Port 0x92
; bit 1 is the PC chipset's "fast A20" gate (a platform feature: reads back 0x02 when on).
;   1. A20 off (limits.a20 = false): write 0x11 to 0000:0000, then 0x22 to FFFF:0010 —
;      it lands on physical 0: BL = [0000:0000] = 0x22;
;   2. read port 0x92 (0x00), set bit 1, write: A20 on. Write 0x33 to FFFF:0010 — now
;      physical 0x100000: BH = [0000:0000] = 0x22 (unchanged), CL = [FFFF:0010] = 0x33;
;   3. read port 0x92 (0x02), clear bit 1, write: A20 off. CH = [FFFF:0010] = [0] = 0x22;
;   4. `cmp bl, bl` leaves every flag defined (CF 0, PF 1, AF 0, ZF 1, SF 0, OF 0), exit.
;
; Oracle: sdm-by-hand — KVM cannot model A20 off (tools/corpus_engine.cpp refuses to step
; it). The golden was written by hand: the start is KVM's reset state entered at 0000:7C00
; (as KVM reports it before any instruction), every step keeps the state valid for VM entry
; (real mode, base = selector x 16, limit 0xFFFF, AR 0x93; ES = FFFF with base 0xFFFF0),
; and the final registers follow from the list above: EAX = 0xFF10 (AH = 0xFF from
; `mov ax, 0xFFFF`, AL = 0x10 last), EBX = 0x2222, ECX = 0x2233, EFLAGS = 0x46 (IF cleared
; by CLI, flags from CMP), EIP past the final OUT.

bits 16
org 0x7C00

start:
    cli
    xor ax, ax
    mov ds, ax
    mov ax, 0xFFFF
    mov es, ax
    mov byte [0x0000], 0x11
    mov byte [es:0x0010], 0x22      ; A20 off: physical 0
    mov bl, [0x0000]                ; 0x22
    in al, 0x92                     ; 0x00
    or al, 0x02
    out 0x92, al                    ; A20 on
    mov byte [es:0x0010], 0x33      ; physical 0x100000
    mov bh, [0x0000]                ; still 0x22
    mov cl, [es:0x0010]             ; 0x33
    in al, 0x92                     ; 0x02
    and al, 0xFD
    out 0x92, al                    ; A20 off again
    mov ch, [es:0x0010]             ; physical 0 again: 0x22
    cmp bl, bl
    mov al, 0x10
    out 0xF4, al
