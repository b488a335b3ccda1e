; paged_alias.asm — the step trace under paging (tests/tools/CMakeLists.txt, step_paged_alias).
; Real mode -> 32-bit flat protected mode -> 32-bit paging in which linear 400000H is mapped
; to the frame at A000H, while physical 400000H holds zeros. The trace must show the bytes the
; CPU fetches there (mov eax, 0x600dc0de), not those at the physical address equal to the
; linear one, and the GDT that LGDT then loads from a linear base inside that page.
bits 16
org 0x7c00

%include "pm_entry.inc"

PAGE_DIRECTORY equ 0x8000
ALIAS_LINEAR   equ 0x400000

start:
    cli
    xor ax, ax
    mov ds, ax
    REAL_TO_PM32 pm32, 0

bits 32
pm32:
    FLAT_DATA_AND_STACK             ; (nothing is pushed: the stack would meet the tables)
    mov eax, PAGE_DIRECTORY
    mov cr3, eax
    mov eax, cr0
    or eax, 0x80000000              ; paging on
    mov cr0, eax
    mov eax, ALIAS_LINEAR
    jmp eax

align 8
gdt:
    GDT_FLAT_32
    TABLE_DESCRIPTOR gdt

    times PAGE_DIRECTORY - 0x7c00 - ($ - $$) db 0
page_directory:                     ; 8000H
    dd 0x9000 | 3                   ; linear 0-4 MiB: identity
    dd 0xB000 | 3                   ; linear 4-8 MiB: the alias table
    times 1022 dd 0

page_table_identity:                ; 9000H
%assign page 0
%rep 1024
    dd (page << 12) | 3
%assign page page + 1
%endrep

alias_frame:                        ; A000H, mapped at linear 400000H
    mov eax, 0x600dc0de
    lgdt [ALIAS_LINEAR + alias_gdt_descriptor - alias_frame]
    hlt

align 8
alias_gdt:                          ; the same segments, with their accessed bits set
    dq 0
    dq 0x00CF9B000000FFFF
    dq 0x00CF93000000FFFF
alias_gdt_end:
alias_gdt_descriptor:
    dw alias_gdt_end - alias_gdt - 1
    dd ALIAS_LINEAR + alias_gdt - alias_frame

    times 0xB000 - 0x7c00 - ($ - $$) db 0
page_table_alias:                   ; B000H
    dd 0xA000 | 3                   ; linear 400000H -> A000H
    times 1023 dd 0
