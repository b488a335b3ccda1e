; paging_page_fault_handler.asm — page faults taken and retried (SDM Vol. 3A 4.7, "Page-Fault
; Exceptions"; 4.6, "Access Rights", with CR0.WP; Vol. 3A 6.14 for the gate and the error code
; on the stack): a #PF handler prints its error code (two hex digits) and CR2 (eight) on the
; 0xE9 console, fixes the faulting PTE, flushes it with INVLPG and returns with IRETD to retry
; the access, which then succeeds. Three faults:
;   1. not present: a supervisor load from 0xA000 (PTE 10: P = 0)  -> "00 0000A000", P set;
;   2. write-protected: a supervisor store to 0xB000 (PTE 11: present, R/W = 0) with CR0.WP =
;      1 -> "03 0000B000" (P | W), R/W set;
;   3. user mode: a load at CPL 3 from 0xC000 (PTE 12: U/S = 0) -> "05 0000C000" (P | U), U/S
;      set; the fault switches to the TSS's ring-0 stack and IRETD returns to CPL 3.
; Then INT 30H through a DPL-3 gate back to CPL 0, 'E' and HLT. EBX, EDX and ECX hold the
; values the retried accesses read or wrote. #GP and #DF print 'G' / 'D' and halt, so a wrong
; turn shows in the golden.
; Every entry the walks pass has A (and D) preset and the PDE's A is set, so QEMU's accessed
; flag on a faulting walk's PDE (docs/known-differences.md, "Paging") plays no part. The
; descriptors' accessed bits are preset (QEMU's far jumps and gates do not set them). FS and
; GS hold the flat DPL-0 selector, not the real-mode 0: IRETD to CPL 3 makes every data
; segment register whose cache has DPL < 3 null (SDM IRET, "RETURN-TO-OUTER-PRIVILEGE-LEVEL"),
; which QEMU skips for FS and GS holding a null selector (qemu-iret-null-fs-gs).
; QEMU's TR cache after LTR lacks the busy bit; the engine reports the busy TSS the processor
; holds (docs/corpus-format.md, "Oracles").
; Golden: QEMU 7.2 TCG (docs/corpus-format.md, "Oracles").

org 0x1000

%include "pm_entry.inc"
%include "paging.inc"

PAGE_DIRECTORY equ 0x4000
PAGE_TABLE     equ 0x5000
USER_CODE      equ 0x28 | 3
USER_DATA      equ 0x30 | 3
TSS_SELECTOR   equ 0x38

start:
    PAGING_CASE_START 1
    mov fs, ax                      ; FS and GS too: see the header
    mov gs, ax
    mov ax, TSS_SELECTOR
    ltr ax
    mov dword [0xA000], 0xAAAA0001  ; what the retried accesses find
    mov dword [0xC000], 0xCCCC0003
    PAGING_ON PAGE_DIRECTORY, 0x80010000  ; PG and WP
    mov ebx, [0xA000]               ; 1. not present
    mov dword [0xB000], 0xBBBB0002  ; 2. write-protected
    mov edx, [0xB000]
    push dword USER_DATA            ; 3. to CPL 3: SS, ESP, EFLAGS, CS, EIP
    push dword 0x7F00
    push dword 0x2
    push dword USER_CODE
    push dword user_code
    iretd
user_code:
    mov ax, USER_DATA               ; IRETD to CPL 3 nulled DS (DPL 0 < CPL)
    mov ds, ax
    mov ecx, [0xC000]               ; user access to a supervisor page
    int 0x30

finish:                             ; INT 30H, at CPL 0
    mov al, 'E'
    out 0xE9, al
    hlt

page_fault:                         ; [esp] = error code, then EIP, CS, EFLAGS (ESP, SS)
    push eax
    push edx
    mov eax, [esp + 8]
    call print_hex2
    mov al, ' '
    out 0xE9, al
    mov eax, cr2
    call print_hex8
    mov al, 10
    out 0xE9, al
    mov eax, cr2                    ; the PTE of the faulting page
    shr eax, 12
    lea edx, [PAGE_TABLE + eax * 4]
    mov eax, [esp + 8]              ; not present: set P; else set what W / U asked for
    test al, 1                      ; (error code bits 1 and 2 are PTE bits R/W and U/S)
    jnz .present
    mov al, 1
    jmp .fix
.present:
    and al, 6
.fix:
    or [edx], al
    mov eax, cr2
    invlpg [eax]
    pop edx
    pop eax
    add esp, 4                      ; the error code
    iretd

general_protection:
    mov al, 'G'
    out 0xE9, al
    hlt
double_fault:
    mov al, 'D'
    out 0xE9, al
    hlt

print_hex2:                         ; AL as two hex digits
    push ecx
    push eax
    rol eax, 24
    mov ecx, 2
    jmp print_digits
print_hex8:                         ; EAX as eight hex digits
    push ecx
    push eax
    mov ecx, 8
print_digits:
    rol eax, 4
    push eax
    and al, 0x0F
    add al, '0'
    cmp al, '9'
    jbe .digit
    add al, 'A' - '9' - 1
.digit:
    out 0xE9, al
    pop eax
    loop print_digits
    pop eax
    pop ecx
    ret

align 8
gdt:                                ; accessed bits preset
    GDT_FLAT_32_AND_16_ACCESSED
    dq 0x00CFFB000000FFFF           ; 0x28: flat 32-bit code, DPL 3
    dq 0x00CFF3000000FFFF           ; 0x30: flat data, DPL 3
    dw tss_end - tss - 1, tss       ; 0x38: 32-bit TSS, available
    db 0, 0x89, 0, 0
TABLE_DESCRIPTOR gdt

align 8
idt:
    times 8 dq 0
    dw double_fault, 0x08, 0x8E00, 0    ; 8: #DF
    times 4 dq 0
    dw general_protection, 0x08, 0x8E00, 0 ; 13: #GP
    dw page_fault, 0x08, 0x8E00, 0      ; 14: #PF, interrupt gate
    times 0x30 - 15 dq 0
    dw finish, 0x08, 0xEE00, 0          ; 30H: interrupt gate, DPL 3
TABLE_DESCRIPTOR idt

align 4
tss:
    dd 0
    dd 0x9000                       ; ESP0
    dd 0x10                         ; SS0
    times 22 dd 0
    dw 0, tss_end - tss             ; no I/O bit map
tss_end:

times PAGE_DIRECTORY - 0x1000 - ($ - $$) db 0
    dd PAGE_TABLE | 0x27            ; PDE 0: present, writable, user, accessed
    times 1023 dd 0
page_table:                         ; identity: linear 0..4 MiB, user, A and D preset
%assign page 0
%rep 1024
%if page == 10
    dd (page << 12) | 0x02          ; not present
%elif page == 11
    dd (page << 12) | 0x01          ; read-only, supervisor
%elif page == 12
    dd (page << 12) | 0x03          ; writable, supervisor
%else
    dd (page << 12) | 0x67
%endif
%assign page page + 1
%endrep
