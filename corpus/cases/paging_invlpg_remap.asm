; paging_invlpg_remap.asm — a remapped PTE taking effect through INVLPG and through a CR3 load
; (SDM Vol. 3A 4.10.4.1, "Operations that Invalidate TLBs and Paging-Structure Caches"; 4.10.2
; for what a TLB may keep), with 4-KByte pages and a global page (CR4.PGE, G = 1: 4.10.2.4):
;   EBX = a load from linear 0xA000 mapped to physical 0xA000: AAAAAAAAH (the TLB now holds it);
;   the PTE is pointed at physical 0xB000, INVLPG [0xA000]: ECX = BBBBBBBBH;
;   the PTE is pointed at physical 0xC000, MOV CR3 with CR3's own value: EDX = CCCCCCCCH;
;   a global page at 0xD000 (physical 0xD000: DDDDDDDDH in ESI), pointed at physical 0xB000,
;   INVLPG flushes global entries too: EDI = BBBBBBBBH.
; No load happens between a PTE store and its flush: the value such a load returns is the
; implementation's choice (4.10.4.3: old or new translation), and no CR3 load is used for the
; global page (QEMU drops global entries on MOV to CR3, which a TLB may do:
; docs/known-differences.md, "Paging"). Golden: QEMU 7.2 TCG (docs/corpus-format.md).

org 0x1000

%include "pm_entry.inc"
%include "paging.inc"

PAGE_DIRECTORY equ 0x4000
PAGE_TABLE     equ 0x5000

start:
    PAGING_CASE_START 0
    mov dword [0xA000], 0xAAAAAAAA
    mov dword [0xB000], 0xBBBBBBBB
    mov dword [0xC000], 0xCCCCCCCC
    mov dword [0xD000], 0xDDDDDDDD
    mov eax, cr4
    or eax, 0x80                    ; CR4.PGE: global pages
    mov cr4, eax
    PAGING_ON PAGE_DIRECTORY, 0x80000000
    mov ebx, [0xA000]
    mov dword [PAGE_TABLE + 10 * 4], 0xB000 | 0x63
    invlpg [0xA000]
    mov ecx, [0xA000]
    mov dword [PAGE_TABLE + 10 * 4], 0xC000 | 0x63
    mov eax, cr3
    mov cr3, eax
    mov edx, [0xA000]
    mov esi, [0xD000]               ; the global page
    mov dword [PAGE_TABLE + 13 * 4], 0xB000 | 0x163
    invlpg [0xD000]
    mov edi, [0xD000]
    PAGING_CASE_END 'i'

times PAGE_DIRECTORY - 0x1000 - ($ - $$) db 0
    dd PAGE_TABLE | 0x23            ; PDE 0: present, writable, accessed
    times 1023 dd 0
page_table:                         ; identity: linear 0..4 MiB, A and D preset
%assign page 0
%rep 1024
%if page == 13
    dd (page << 12) | 0x163         ; global
%else
    dd (page << 12) | 0x63
%endif
%assign page page + 1
%endrep
