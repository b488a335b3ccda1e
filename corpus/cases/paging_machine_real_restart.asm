; paging_machine_real_restart.asm — into paged protected mode with one MOV to CR0 (PE and PG
; together, SDM Vol. 3A 9.9.1), then back to real mode the way Linux's machine_real_restart
; leaves a paged 32-bit kernel (arch/x86/realmode/rm/reboot.S; written fresh):
;   real mode: GDT, CR4.PSE, CR3 = a page directory whose PDE 0 maps the first 4 MiB with a
;     4-MByte page (identity), then `mov cr0` with PE | PG, far jump to 32-bit code;
;   paged 32-bit: flat DS/ES/SS, a byte to the debug console, then clear CR0.PG (the code
;     runs identity-mapped, so the next fetch finds the same bytes), far jump to a 16-bit
;     code segment with 64 KiB data segments, clear CR0.PE, far jump to real-mode CS 0;
;   real mode: DS = SS = 0, another byte to the console, HLT.
; VM entry without unrestricted guest fails on the way in (the stale real-mode CS after the
; MOV to CR0) and on the way out (CR0.PG = 0 in protected mode: sdm.cr0.fixed0; the 16-bit
; segments' RPL/DPL, then real mode's vm86 checks).
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

start:
    cli
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7000
    lgdt [gdt_descriptor]
    mov eax, cr4
    or eax, 0x10                    ; CR4.PSE: 4-MByte pages
    mov cr4, eax
    mov eax, PAGE_DIRECTORY
    mov cr3, eax
    mov eax, cr0
    or eax, 0x80000001              ; PE and PG in one move
    mov cr0, eax
    jmp dword 0x08:paged32

bits 32
paged32:
    FLAT_DATA_AND_STACK
    mov al, 'P'
    out 0xE9, al
    ; machine_real_restart: paging off first (still 32-bit protected mode)
    mov eax, cr0
    and eax, 0x7FFFFFFF
    mov cr0, eax
    jmp 0x18:code16                 ; to a 16-bit code segment

bits 16
code16:
    mov ax, 0x20                    ; 64 KiB data segments for real mode
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov eax, cr0
    and eax, 0x7FFFFFFE             ; protection off
    mov cr0, eax
    jmp 0x0000:real

real:
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7000
    mov al, 'R'
    out 0xE9, al
    hlt

align 8
gdt:                                ; accessed bits preset (see the header)
    GDT_FLAT_32_AND_16_ACCESSED
TABLE_DESCRIPTOR gdt

times PAGE_DIRECTORY - 0x1000 - ($ - $$) db 0
page_directory:
    dd 0x00000083                   ; PDE 0: 4-MByte page at 0, present, writable, PS
    times 1023 dd 0
