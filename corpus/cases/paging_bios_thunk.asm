; paging_bios_thunk.asm — a BIOS thunk from paged protected mode and back, as DOS extenders
; and early OS loaders make one (written fresh): real mode -> PE -> 32-bit flat -> PG on
; (4-KByte pages, identity-mapped through one page table) -> work -> PG off -> 16-bit code
; segment -> PE off -> real mode, a far call to a "BIOS" routine -> back to paged protected
; mode with PE and PG set by one MOV to CR0 (CR3 still holds the directory) -> HLT.
; The step trace shows VM entry failing at each boundary: the stale CS after each MOV to CR0,
; CR0.PG = 0 in protected mode (sdm.cr0.fixed0), the 16-bit segments, real mode.
;
; The descriptors have their accessed bits preset, so that the golden does not depend on what
; QEMU (and Unicorn, built from it) does differently: its far JMP does not set a code
; descriptor's accessed bit (docs/known-differences.md, "Paging"). The case starts with CS
; access rights 93H (the SDM's power-up value, Vol. 3A Table 10-1), the only real-mode CS
; cache Unicorn's state import could give when it wrote the first golden.
; Golden: QEMU 7.2 TCG (docs/corpus-format.md, "Oracles"), which walks the page tables. It
; reproduces the earlier Unicorn 2.0.1 golden (identity-mapped pages only) step for step.

bits 16
org 0x1000

%include "pm_entry.inc"

PAGE_DIRECTORY equ 0x4000
PAGE_TABLE     equ 0x5000

start:
    cli
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7000
    REAL_TO_PM32 flat32, 0

bits 32
flat32:
    FLAT_DATA_AND_STACK
    mov eax, PAGE_DIRECTORY
    mov cr3, eax
    mov eax, cr0
    or eax, 0x80000000              ; paging on
    mov cr0, eax
    jmp paged32                     ; a jump after enabling paging (SDM 9.9.1)
paged32:
    mov al, 'p'
    out 0xE9, al
    ; the thunk: paging off, 16-bit code, protection off
    mov eax, cr0
    and eax, 0x7FFFFFFF
    mov cr0, eax
    jmp 0x18:code16

bits 16
code16:
    mov ax, 0x20
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov eax, cr0
    and eax, 0x7FFFFFFE
    mov cr0, eax
    jmp 0x0000:real

real:
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7000
    call 0x0000:bios                ; the "BIOS service"
    ; and back: protection and paging in one move, CR3 kept
    mov eax, cr0
    or eax, 0x80000001
    mov cr0, eax
    jmp dword 0x08:back32

bits 32
back32:
    FLAT_DATA_AND_STACK
    mov al, 'q'
    out 0xE9, al
    hlt

bits 16
bios:
    mov al, 'B'
    out 0xE9, al
    retf

align 8
gdt:                                ; accessed bits preset (see the header)
    GDT_FLAT_32_AND_16_ACCESSED
TABLE_DESCRIPTOR gdt

times PAGE_DIRECTORY - 0x1000 - ($ - $$) db 0
    dd PAGE_TABLE | 3               ; PDE 0 -> the page table: present, writable
    times 1023 dd 0
page_table:                         ; identity: linear 0..4 MiB
%assign page 0
%rep 1024
    dd (page << 12) | 3
%assign page page + 1
%endrep
