; interrupt_shadow.asm — the one-instruction interrupt shadows of MOV SS / POP SS and STI,
; as the VMCS interruptibility state records them (SDM Vol. 3C Table 24-3: bit 0 blocking
; by STI, bit 1 blocking by MOV SS).
;
; SDM Vol. 3A 6.8.3: a MOV SS or POP SS inhibits interrupts (and debug traps) until the
; instruction after it completes — so that `mov ss, ax; mov sp, ...` switch stacks
; atomically. Vol. 2B, STI: if IF was 0, STI sets it and interrupts stay inhibited until
; the end of the next instruction; executed with IF already 1 it sets no shadow.
; The case runs, in real mode, `mov ss` + `mov sp` (the shadow ends after `mov sp`),
; `pop ss` + `nop`, then `sti` with IF = 0 and a second `sti` with IF = 1 (no new
; shadow), `cli`, and finally `sti` with IF = 0 as the last instruction: the case stops on
; the budget right there, so the final state carries blocking by STI (1) with IF = 1.
; Only the final state carries the interruptibility field, so two more cases run the same
; code with shorter budgets: interrupt_shadow_pop_ss (ends after the POP SS: blocking by
; MOV SS, 2) and interrupt_shadow_sti_twice (ends after the second STI: 0).

bits 16
org 0x7C00

start:
    cli
    xor ax, ax
    mov ds, ax
    mov ax, 0x0100
    mov ss, ax                      ; shadow (MOV SS)
    mov sp, 0x1000                  ; covered by the shadow; the shadow ends here
    push word 0x0200
    pop ss                          ; shadow (MOV SS) again
    nop
    sti                             ; IF 0 -> 1: shadow (STI)
    sti                             ; IF already 1: no shadow
    nop
    cli
    sti                             ; last instruction: shadow (STI), IF = 1
    hlt                             ; not reached (budget)
