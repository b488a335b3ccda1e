; linux_pmjump.asm — the Linux boot protocol's protected-mode jump, written fresh in the
; style of arch/x86/boot/pmjump.S (and the setup code's GDT set-up before it).
;
; The setup code runs at 1000:0000 (CS = DS = ES = SS = 0x1000, as a boot loader leaves
; them). It builds a boot GDT in the Linux layout (entry 2 = __BOOT_CS 0x10, entry 3 =
; __BOOT_DS 0x18, entry 4 = __BOOT_TSS 0x20), loads a GDT pointer whose base it computes
; from DS, loads a null IDT, masks NMI (port 0x70), and then does the jump itself:
;   - patches the 32-bit offset of the `66 EA` far jump with CS << 4 (self-modifying code:
;     the write lands a few bytes ahead of the instruction that executes it),
;   - a short jmp to serialize ("flush"), sets CR0.PE,
;   - `66 EA` ljmpl to __BOOT_CS, loads __BOOT_DS into DS/ES/FS/GS/SS,
;   - rebases ESP by CS << 4, `ltr` __BOOT_TSS and `lldt` a null selector (both added to
;     Linux for Intel VT: TR must be a TSS and LDTR usable-or-null at VM entry),
;   - jumps through a register to the "32-bit entry point", which says "LINUX" on the
;     debug console and exits through isa-debug-exit.
; The start preset is `intel` (CS caches a data segment, TR is 0x82): the VM-entry checks
; fail on CS type until the far jump and on TR until `ltr`.

bits 16
org 0

SETUP_SEG    equ 0x1000
BOOT_CS      equ 0x10
BOOT_DS      equ 0x18
BOOT_TSS     equ 0x20

setup_start:
    cli
    mov al, 0x80                     ; NMI off (CMOS index port, bit 7)
    out 0x70, al
    ; boot_gdt[BOOT_CS] / [BOOT_DS] / [BOOT_TSS], filled at run time as the C code does
    mov dword [gdt + BOOT_CS], 0x0000FFFF
    mov dword [gdt + BOOT_CS + 4], 0x00CF9B00
    mov dword [gdt + BOOT_DS], 0x0000FFFF
    mov dword [gdt + BOOT_DS + 4], 0x00CF9300
    mov dword [gdt + BOOT_TSS], 0x10000067    ; base 15:0 = 0x1000 (4096), limit 103
    mov dword [gdt + BOOT_TSS + 4], 0x00008900
    ; gdt pointer base = linear address of gdt = (DS << 4) + gdt
    xor eax, eax
    mov ax, ds
    shl eax, 4
    add eax, gdt
    mov [gdt_ptr + 2], eax
    o32 lgdt [gdt_ptr]
    o32 lidt [null_idt]
    ; protected_mode_jump(entry = pm_entry, boot_params = 0x12345)
    mov eax, pm_entry
    mov edx, 0x12345
    ; -- the jump itself --
    mov esi, edx
    xor ebx, ebx
    mov bx, cs
    shl ebx, 4
    add [cs:jump_offset], ebx        ; code patched ahead of execution
    add eax, ebx                     ; the entry point is linear too
    jmp short .flush
.flush:
    mov cx, BOOT_DS
    mov di, BOOT_TSS
    mov edx, cr0
    or dl, 1
    mov cr0, edx
    db 0x66, 0xEA                    ; ljmpl
jump_offset:
    dd in_pm32
    dw BOOT_CS

bits 32
in_pm32:
    mov ds, ecx
    mov es, ecx
    mov fs, ecx
    mov gs, ecx
    mov ss, ecx
    add esp, ebx
    ltr di
    xor ecx, ecx
    xor edx, edx
    xor ebx, ebx
    xor ebp, ebp
    xor edi, edi
    lldt cx
    jmp eax

pm_entry:                            ; "startup_32": ESI = boot_params
    cmp esi, 0x12345
    jne .bad
    mov esi, SETUP_SEG * 16 + message
    mov ecx, message_len
    mov dx, 0xE9
    rep outsb
    mov al, 0x10
    out 0xF4, al
.bad:
    mov al, 0x11
    out 0xF4, al

message: db "LINUX", 10
message_len equ $ - message

align 16
gdt: times 5 dq 0
gdt_end:
gdt_ptr: dw gdt_end - gdt - 1
         dd 0
null_idt: dw 0
          dd 0
