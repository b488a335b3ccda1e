; ap_trampoline.asm — an SMP application-processor start-up trampoline.
;
; After INIT-SIPI-SIPI with vector 0x08 an AP starts in real mode at CS = 0x0800 (base
; 0x8000), IP = 0 (SDM Vol. 3A 9.4.4.1 / 11.4.4: the SIPI vector VV gives CS = VV00,
; base VV000, IP = 0; the rest is the INIT state of SDM Vol. 3A Table 10-1 — preset `intel`:
; CS caches a data segment 0x93 and TR is 0x82, so after PE = 1 the VM-entry checks fail
; on CS type until the far jump and on TR until `ltr`). The
; trampoline, written in the style of an OS's real-mode AP entry:
;   - cli, DS = CS, bumps a "started" counter the BSP would poll (lock inc),
;   - loads the GDT through a pointer the BSP filled in (lgdtl with a 32-bit base),
;   - sets CR0.PE and far-jumps (66 EA) to a flat 32-bit code segment at the linear
;     address of the 32-bit entry (the offset is 0x8000 + label: the code is not at 0),
;   - loads the data segments, takes its stack from a per-CPU slot, loads TR,
;   - prints "AP" and exits through isa-debug-exit.

bits 16
org 0

TRAMPOLINE equ 0x8000

ap_start:
    cli
    cld
    mov ax, cs
    mov ds, ax
    lock inc word [ap_started]
    o32 lgdt [gdt_pointer]
    mov eax, cr0
    or al, 1
    mov cr0, eax
    jmp dword 0x08:(TRAMPOLINE + ap_pm32)

bits 32
ap_pm32:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor ax, ax
    mov fs, ax
    mov gs, ax
    mov esp, [TRAMPOLINE + ap_stack]
    mov ax, 0x18
    ltr ax
    push dword 'P' << 8 | 'A'
    mov dx, 0xE9
    mov al, [esp]
    out dx, al
    mov al, [esp + 1]
    out dx, al
    mov al, 0x10
    out 0xF4, al

align 4
ap_started: dw 0, 0
ap_stack:   dd 0x9F00               ; the BSP's per-CPU stack for this AP

align 8
gdt:
    dq 0
    dq 0x00CF9A000000FFFF           ; 0x08 flat 32-bit code
    dq 0x00CF92000000FFFF           ; 0x10 flat data
    dw 0x0067, TRAMPOLINE + tss, 0x8900, 0x0000   ; 0x18 32-bit TSS (available)
gdt_end:
gdt_pointer:
    dw gdt_end - gdt - 1
    dd TRAMPOLINE + gdt             ; filled in by the BSP
align 4
tss: times 0x68 db 0
