; gdt_rewrite_pop_es.asm — the GDT is rewritten while in real mode; back in protected mode a
; `pop es` loads a selector that now names a system descriptor: #GP(selector).
;
;   1. real mode: lgdt, lidt (a 32-bit IDT with a #GP interrupt gate), PE = 1, far jump to
;      32-bit code, ES = 0x18 (a data segment at this point) — loads fine;
;   2. back to real mode (16-bit code segment, PE = 0, far jump, segments reloaded);
;   3. in real mode the GDT entry 0x18 is overwritten with an available 32-bit TSS
;      descriptor (type 9, S = 0). GDTR is unchanged and nothing is reloaded: descriptors
;      are read from memory only when a selector is loaded;
;   4. PE = 1 again, far jump, `push 0x18; pop es`: POP (SDM Vol. 2B, "POP", protected-mode
;      exceptions) raises #GP(selector) when "the DS, ES, FS, or GS register is being loaded
;      and the segment pointed to is not a data or readable code segment". The fault leaves
;      ES and ESP as before the instruction (Vol. 3A 6.5, faults) and is delivered through
;      the IDT's interrupt gate 13 with error code 0x18 (selector index, TI = 0, EXT = 0);
;   5. the handler (first instruction a NOP) pops the error code into EBX, takes the faulting
;      EIP into ECX, reads ES into EDX, prints "GP" and exits with code 0x0D.
;
; Oracle: sdm-by-hand. KVM ran the case and its states agree with the SDM, but its
; single-step reports the faulting `pop es`, the delivery and the handler's first NOP as one
; step (tests/oracle/kvm_stepper.hpp): the golden is KVM's with that step split in two
; (docs/known-differences.md, KVM, "kvm-fault-step").

bits 16
org 0x1000

%include "pm_entry.inc"

TSS_AREA equ 0x3000                 ; an (all-zero) TSS, never used

start:
    cli
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x9000
    REAL_TO_PM32 pm_first, 1

bits 32
pm_first:
    mov ax, 0x10
    mov ds, ax
    mov ss, ax
    mov ax, 0x18
    mov es, ax                      ; 0x18 is still a data segment
    jmp 0x20:pm16_exit              ; to 16-bit protected mode

bits 16
pm16_exit:
    mov ax, 0x28                    ; 64 KiB real-mode-like data segment
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov eax, cr0
    and al, 0xFE
    mov cr0, eax
    jmp 0x0000:real_again

real_again:
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    ; rewrite GDT entry 0x18: available 32-bit TSS, base TSS_AREA, limit 0x67
    mov dword [gdt + 0x18], (TSS_AREA << 16) | 0x0067
    mov dword [gdt + 0x18 + 4], 0x00008900
    mov eax, cr0
    or al, 1
    mov cr0, eax
    jmp dword 0x08:pm_second

bits 32
pm_second:
    mov ax, 0x10
    mov ds, ax
    mov ss, ax
    mov esp, 0x9000
    push dword 0x18
    pop es                          ; #GP(0x18): 0x18 is a TSS descriptor now
    mov al, 0x11                    ; not reached
    out 0xF4, al

gp_handler:
    nop
    pop ebx                         ; error code
    mov ecx, [esp]                  ; EIP of the faulting pop es
    mov dx, es
    mov al, 'G'
    out 0xE9, al
    mov al, 'P'
    out 0xE9, al
    mov al, 0x0D
    out 0xF4, al

align 8
gdt:
    GDT_FLAT_32                     ; null, 0x08 flat 32-bit code, 0x10 flat data
    dq 0x00CF92000000FFFF           ; 0x18 data (rewritten to a TSS in real mode)
    dq 0x00009A000000FFFF           ; 0x20 16-bit code, base 0, 64 KiB
    dq 0x000092000000FFFF           ; 0x28 16-bit data, base 0, 64 KiB
TABLE_DESCRIPTOR gdt

align 8
idt:
    times 13 dq 0
    dw gp_handler, 0x08, 0x8E00, 0  ; 13: 32-bit interrupt gate, DPL 0
TABLE_DESCRIPTOR idt
