; pe_entry.asm — the bundled boot sample: a boot sector that leaves real mode the way
; Paolo Bonzini lists it in the qemu-devel thread "Questions about the real mode in
; kvm/qemu" (2019-09-26): set PE in CR0; lgdtl; ljmpl to a 32-bit code segment; load 0x10
; into DS, ES, FS, GS and SS. It then loads TR, as Linux's protected-mode jump does to
; satisfy VT, says "OK" on the debug console and ends through isa-debug-exit.
;
; Loaded at 0x7C00 and entered at 0000:7C00, like a BIOS boot sector.
;
; The real-mode selectors are chosen so that, once CR0.PE = 1, every failure Paolo lists
; shows up in the VM-entry checks (SDM Vol. 3C 26.3.1.2, KVM's guest_state_valid):
;   - from the hardware reset state CS still caches a read/write *data* segment (0x93),
;     so the CS type check fails until the far jump;
;   - SS = 0x1235 has RPL 1 while CS.RPL is 0: SS.RPL != CS.RPL until SS is reloaded;
;   - DS = 0x07C3, ES = 0x0F02, FS = 0x0B01, GS = 0x1233 have RPL > DPL 0 until reloaded;
;   - TR holds the reset value 0x82 (not a TSS type) until `ltr`.

bits 16
org 0x7C00

SEL_CODE32 equ 0x08
SEL_DATA32 equ 0x10
SEL_TSS    equ 0x18
STACK_TOP  equ 0x9000

start:
    cli
    ; Real-mode segment values with low bits set, as a real-mode program may leave them.
    mov ax, 0x07C3
    mov ds, ax
    mov ax, 0x0F02
    mov es, ax
    mov ax, 0x0B01
    mov fs, ax
    mov ax, 0x1233
    mov gs, ax
    mov ax, 0x1235
    mov ss, ax
    mov sp, 0x0100

    ; Paolo's sequence: PE first, then lgdtl and ljmpl from 16-bit protected mode.
    mov eax, cr0
    or al, 1
    mov cr0, eax                        ; CR0.PE = 1: the invalid window opens
    o32 lgdt [cs:gdt_descriptor]        ; lgdtl (CS base is still 0, from real mode)
    jmp dword SEL_CODE32:protected32    ; ljmpl: 66 EA, ptr16:32

bits 32
protected32:
    mov ax, SEL_DATA32
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax
    mov esp, STACK_TOP
    mov ax, SEL_TSS
    ltr ax                              ; TR becomes a busy 32-bit TSS: the state is valid

    ; From here the guest would run in VMX non-root mode again.
    mov esi, message
    mov ecx, message_length
    mov dx, 0xE9                        ; debug console
    rep outsb
    mov al, 0x10                        ; isa-debug-exit: the run ends with this code
    out 0xF4, al
    hlt

message: db "OK", 10
message_length equ $ - message

align 8
gdt:
    dq 0                                ; 0x00 null
    dq 0x00CF9A000000FFFF               ; 0x08 code: base 0, 4 GiB, 32-bit, exec/read
    dq 0x00CF92000000FFFF               ; 0x10 data: base 0, 4 GiB, 32-bit, read/write
    ; 0x18 TSS: base tss, limit 0x67, available 32-bit TSS (type 9), present
    dw 0x0067, tss, 0x8900, 0x0000
gdt_end:

gdt_descriptor:
    dw gdt_end - gdt - 1
    dd gdt

align 4
tss: times 0x68 db 0

times 510 - ($ - $$) db 0
dw 0xAA55
