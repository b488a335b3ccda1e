; paging_pae_2mb.asm — PAE paging with 2-MByte pages (SDM Vol. 3A 4.4: 4.4.1 for the PDPTEs,
; 4.4.2 and Table 4-9 for a PDE that maps a 2-MByte page) and the PDPTEs loaded again by MOV
; to CR3:
;   CR4.PAE, then CR3 = the PDPT and CR0.PG (which loads the four PDPTEs). PDPTE 0 references
;   directory A: PDE 0 maps linear 0..2 MiB to itself, PDE 1 maps linear 2..4 MiB onto
;   physical 0..2 MiB (an alias). Directory B is A but with PDE 1 onto physical 4..6 MiB.
;   EBX = a load through the alias at 0x20A000: physical 0xA000's 11111111H;
;   CL  = A's PDE 1 low byte after that load: A3H (P, R/W, A, PS);
;   then PDPTE 0 in memory is pointed at directory B and CR3 written with its own value, which
;   loads the PDPTEs again (4.4.1): EDX = the same load now finds physical 0x40A000's
;   22222222H; CH = B's PDE 1 low byte: A3H.
; Between the store to the PDPT and the MOV to CR3 the code runs only through PDE 0, the same
; in both directories: QEMU, which has no PDPTE registers and reads the PDPT on every walk
; (docs/known-differences.md, unicorn-no-pdpte-check), and the SDM's processor, which keeps
; the old PDPTE until the MOV, fetch the same bytes. No walk faults. MAXPHYADDR stays below
; 16 MiB. Golden: QEMU 7.2 TCG (docs/corpus-format.md, "Oracles").

org 0x1000

%include "pm_entry.inc"
%include "paging.inc"

PDPT        equ 0x6000
DIRECTORY_A equ 0x7000
DIRECTORY_B equ 0x8000

start:
    PAGING_CASE_START 0
    mov dword [0x00A000], 0x11111111 ; the two physical pages the alias reaches
    mov dword [0x40A000], 0x22222222
    mov eax, cr4
    or eax, 0x20                    ; CR4.PAE
    mov cr4, eax
    PAGING_ON PDPT, 0x80000000
    mov ebx, [0x20A000]             ; through A's PDE 1
    mov cl, [DIRECTORY_A + 1 * 8]
    mov dword [PDPT], DIRECTORY_B | 1 ; PDPTE 0 -> directory B, in memory only
    mov eax, cr3
    mov cr3, eax                    ; loads the PDPTEs
    mov edx, [0x20A000]             ; through B's PDE 1
    mov ch, [DIRECTORY_B + 1 * 8]
    PAGING_CASE_END 'e'

times PDPT - 0x1000 - ($ - $$) db 0
    dq DIRECTORY_A | 1              ; PDPTE 0: present (bits 1, 2, 5-8 are reserved)
    dq 0, 0, 0

times DIRECTORY_A - 0x1000 - ($ - $$) db 0
    dq 0x000000 | 0xE3              ; PDE 0: 2 MiB at 0, present, writable, A, D, PS
    dq 0x000000 | 0x83              ; PDE 1: 2 MiB at 0 (alias), A and D clear
    times 510 dq 0
    dq 0x000000 | 0xE3              ; directory B: PDE 0 as A's
    dq 0x400000 | 0x83              ; PDE 1: 2 MiB at 4 MiB, A and D clear
    times 510 dq 0
