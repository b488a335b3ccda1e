; paging_accessed_dirty.asm — the accessed and dirty flags a page walk writes (SDM Vol. 3A
; 4.8, "Accessed and Dirty Flags"; 4.3 and Table 4-5/4-6 for the 32-bit entries), read back
; from the paging structures into registers:
;   EBX.BL  PTE 10 (4-KByte page 0xA000) after a load through it:    23H (P, R/W, A)
;   EBX.BH  the same PTE after a store through it:                   63H (A, and now D)
;   ECX.CL  PDE 1 (4-MByte page 0x400000) after a load through it:   A3H (P, R/W, A, PS)
;   ECX.CH  the same PDE after a store through it:                   E3H (A, D, PS)
;   EDX.DL  PDE 0 (which references the page table) after the walks: 23H (A; its bit 6 is
;           ignored, never a dirty flag: Table 4-5)
;   EDX.DH  PTE 11 (4-KByte page 0xB000) after a first access that is a store: 63H (A and D
;           together)
; The store after the load goes through a TLB entry made by the load, with D clear: the
; processor must still set D before the write (4.8: "the first time there is a write").
; Every other entry has A (and D) preset so that no other flag changes; the code runs
; identity-mapped. Golden: QEMU 7.2 TCG (docs/corpus-format.md, "Oracles"); no walk here
; faults, so QEMU's accessed flag on a faulting walk (docs/known-differences.md) plays no part.

org 0x1000

%include "pm_entry.inc"
%include "paging.inc"

PAGE_DIRECTORY equ 0x4000
PAGE_TABLE     equ 0x5000

start:
    PAGING_CASE_START 0
    mov eax, cr4
    or eax, 0x10                    ; CR4.PSE: 4-MByte pages
    mov cr4, eax
    PAGING_ON PAGE_DIRECTORY, 0x80000000  ; paging on
    ; 4-KByte page: a load, then a store
    mov eax, [0xA000]
    mov bl, [PAGE_TABLE + 10 * 4]
    mov dword [0xA004], 0x12345678
    mov bh, [PAGE_TABLE + 10 * 4]
    ; 4-MByte page: a load, then a store
    mov eax, [0x400000]
    mov cl, [PAGE_DIRECTORY + 1 * 4]
    mov byte [0x400010], 0x5A
    mov ch, [PAGE_DIRECTORY + 1 * 4]
    ; the PDE that references the page table
    mov dl, [PAGE_DIRECTORY]
    ; a page whose first access is a store
    mov dword [0xB000], 0x87654321
    mov dh, [PAGE_TABLE + 11 * 4]
    PAGING_CASE_END 'a'

times PAGE_DIRECTORY - 0x1000 - ($ - $$) db 0
    dd PAGE_TABLE | 0x03            ; PDE 0 -> the page table: present, writable, A clear
    dd 0x00400000 | 0x83            ; PDE 1: 4-MByte page at 4 MiB, present, writable, A/D clear
    times 1022 dd 0
page_table:                         ; identity: linear 0..4 MiB, A and D preset
%assign page 0
%rep 1024
%if page == 10 || page == 11
    dd (page << 12) | 0x03          ; the pages under test: A and D clear
%else
    dd (page << 12) | 0x63
%endif
%assign page page + 1
%endrep
