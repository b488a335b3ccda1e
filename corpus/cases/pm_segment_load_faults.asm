; pm_segment_load_faults.asm — protected-mode segment-register loads and uses that fault,
; with their vectors and error codes (the checks a VMM's emulator must make while it
; emulates an invalid-state window).
;
; 32-bit protected mode, CPL 0, an IDT with #NP (11) and #GP (13) gates to one handler
; shape. Before each faulting instruction ESI holds the address to resume at; the handler
; (first instruction a NOP) stores the error code in a table, counts in EDI, drops the rest
; of the frame (EIP, CS, EFLAGS: 12 bytes) and jumps to ESI. SDM Vol. 2B, MOV / POP
; "Protected Mode Exceptions" and Vol. 3A 5.4.1, 6.15:
;   1. `mov ds, 0` is allowed (DS becomes unusable); `mov eax, [0]` through it: #GP(0)
;      ("memory operand effective address ... using a segment register containing a NULL
;      segment selector");
;   2. `mov ss, 0` (null into SS at CPL 0): #GP(0);
;   3. `mov es, 0x18` (descriptor not present): #NP(0x18);
;   4. `mov ss, 0x13` (RPL 3 != CPL 0): #GP(0x10) — error code = selector with RPL bits
;      clear (bits 1:0 of a selector error code are the EXT and IDT/TI flags, not RPL);
;   5. `mov fs, 0x28` (execute-only code into a data segment register): #GP(0x28);
;   6. `mov gs, 0x48` (index past the GDT limit): #GP(0x48);
;   7. `mov fs, 0x08` (readable code) works.
; At the end the six error codes are loaded into EAX, EBX, ECX, EDX, EBP and ESI
; (0, 0, 0x18, 0x10, 0x28, 0x48), EDI = 6, and the case exits.
;
; Oracle: sdm-by-hand. KVM ran the case and its states agree with the SDM, but its
; single-step reports each faulting instruction, the delivery and the handler's first NOP as
; one step (tests/oracle/kvm_stepper.hpp): the golden is KVM's with those six steps split
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
    FLAT_DATA_AND_STACK
    xor edi, edi
    ; 1. null DS, then a use of it
    xor eax, eax
    mov ds, ax
    mov esi, r1
    mov eax, [0]                    ; #GP(0)
r1: mov ax, 0x10
    mov ds, ax
    ; 2. null SS
    mov esi, r2
    xor eax, eax
    mov ss, ax                      ; #GP(0)
    ; 3. not present
r2: mov esi, r3
    mov ax, 0x18
    mov es, ax                      ; #NP(0x18)
    ; 4. SS with RPL 3 at CPL 0
r3: mov esi, r4
    mov ax, 0x13
    mov ss, ax                      ; #GP(0x10)
    ; 5. execute-only code into FS
r4: mov esi, r5
    mov ax, 0x28
    mov fs, ax                      ; #GP(0x28)
    ; 6. beyond the GDT limit
r5: mov esi, r6
    mov ax, 0x48
    mov gs, ax                      ; #GP(0x48)
    ; 7. readable code into FS: fine
r6: mov ax, 0x08
    mov fs, ax
    mov eax, [errors]
    mov ebx, [errors + 4]
    mov ecx, [errors + 8]
    mov edx, [errors + 12]
    mov ebp, [errors + 16]
    mov esi, [errors + 20]
    mov al, 0x10                    ; AL: the exit code (AH and above: error 1 = 0)
    out 0xF4, al

fault_handler:
    nop
    pop dword [ss:errors + edi * 4] ; error code (DS may be null here: use SS)
    inc edi
    add esp, 12                     ; EIP, CS, EFLAGS
    jmp esi

align 4
errors: times 6 dd 0xFFFFFFFF

align 8
gdt:
    dq 0
    dq 0x00CF9B000000FFFF           ; 0x08 flat 32-bit code, readable
    dq 0x00CF93000000FFFF           ; 0x10 flat data
    dq 0x00CF13000000FFFF           ; 0x18 data, NOT present
    dq 0
    dq 0x00CF99000000FFFF           ; 0x28 execute-only code
    dq 0
    dq 0
    dq 0                            ; 0x40: the last entry; 0x48 is past the limit
TABLE_DESCRIPTOR gdt

align 8
idt:
    times 11 dq 0
    dw fault_handler, 0x08, 0x8E00, 0   ; 11: #NP
    dq 0                                ; 12
    dw fault_handler, 0x08, 0x8E00, 0   ; 13: #GP
TABLE_DESCRIPTOR idt
