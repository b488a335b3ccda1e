; expand_down_segments.asm — expand-down data segments as stack and data, 32- and 16-bit.
;
; SDM Vol. 3A 3.4.5.1: for an expand-down data segment the valid offsets are limit + 1 up
; to 0xFFFFFFFF (B = 1) or 0xFFFF (B = 0); offsets at or below the limit fault.
;   - SS = 0x18: expand-down, writable (type 6 -> 7 once accessed), B = 1, limit 0x0FFF,
;     base 0: from ESP = 0x1008 two pushes reach ESP = 0x1000 (the lowest valid dword is at
;     0x1000); type 7 passes the VM-entry SS type check (3 or 7). ESP then goes back to
;     0x2000: the #GP frame below must fit above the bound, or its delivery would raise #SS,
;     then #DF, then shut down (tried: both engines triple-fault with ESP left at 0x1008);
;   - ES = 0x20: expand-down, B = 0, limit 0x7FFF, base 0x10000: offsets 0x8000-0xFFFF are
;     valid; a word is written at ES:FFFE (the top) and read back;
;   - DS = 0x28: expand-down, B = 1, limit 0x0FFF, base 0: reading [0x1000] works, reading
;     [0x0800] is below the bound: #GP(0) (SDM Vol. 2A MOV, protected-mode exceptions: "a
;     memory operand effective address is outside the DS ... segment limit"), delivered
;     through the IDT's gate 13 with error code 0 and the faulting EIP pushed; the handler
;     (first instruction a NOP) records them in EBX/ECX, prints "EXPD" and exits.
;
; Oracle: sdm-by-hand. KVM ran the case and its states agree with the SDM, but its
; single-step reports the faulting MOV, the delivery and the handler's first NOP as one step
; (tests/oracle/kvm_stepper.hpp): the golden is KVM's with that step split in two
; (docs/known-differences.md, KVM, "kvm-fault-step").

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
    mov ax, 0x10
    mov ds, ax
    mov ax, 0x18
    mov ss, ax
    mov esp, 0x1008
    push dword 0x11111111
    push dword 0x22222222           ; ESP = 0x1000: the lowest valid dword
    pop eax
    pop eax
    mov esp, 0x2000                 ; room for the exception frame below
    mov ax, 0x20
    mov es, ax
    mov word [es:0xFFFE], 0xE5E5
    mov dx, [es:0xFFFE]
    mov ax, 0x28
    mov ds, ax
    mov esi, [0x1000]               ; valid: above the limit
    mov esi, [0x0800]               ; at or below the limit: #GP(0)
    mov al, 0x11                    ; not reached
    out 0xF4, al

gp_handler:
    nop
    pop ebx                         ; error code: 0
    mov ecx, [esp]                  ; EIP of the faulting MOV
    mov al, 'E'
    out 0xE9, al
    mov al, 'X'
    out 0xE9, al
    mov al, 'P'
    out 0xE9, al
    mov al, 'D'
    out 0xE9, al
    mov al, 0x0D
    out 0xF4, al

align 8
gdt:
    GDT_FLAT_32                     ; null, 0x08 flat 32-bit code, 0x10 flat data
    dq 0x0040960000000FFF           ; 0x18 expand-down data, B = 1, limit 0xFFF, base 0
    dq 0x0000960100007FFF           ; 0x20 expand-down data, B = 0, limit 0x7FFF, base 0x10000
    dq 0x0040960000000FFF           ; 0x28 expand-down data, B = 1, limit 0xFFF, base 0
TABLE_DESCRIPTOR gdt

align 8
idt:
    times 13 dq 0
    dw gp_handler, 0x08, 0x8E00, 0  ; 13: #GP
TABLE_DESCRIPTOR idt
