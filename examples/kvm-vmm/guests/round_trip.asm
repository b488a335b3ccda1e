; round_trip.asm — a boot sector for examples/kvm-vmm that crosses the real/protected-mode
; boundary four times, printing a line on COM1 (0x3F8) in each mode, then ends through
; isa-debug-exit with code 0x21.
;
; Each switch to protected mode leaves FS holding a real-mode selector with RPL 3 (DPL 0 in
; its cache), so the state is not valid for VM entry (KVM's data_segment_valid, SDM Vol. 3C
; 26.3.1.2) from the CR0 write until FS is reloaded: the window transit86 runs. The switch back
; to real mode goes through 16-bit segments with 64 KiB limits (SDM Vol. 3A 10.9.2), so real
; mode afterwards is one VM entry accepts again (vm86-compatible segments).
;
; Loaded at 0x7C00 and entered at 0000:7C00, like a BIOS boot sector.

bits 16
org 0x7C00

SEL_CODE32 equ 0x08
SEL_DATA32 equ 0x10
SEL_CODE16 equ 0x18
SEL_DATA16 equ 0x20
SEL_TSS    equ 0x28
COM1       equ 0x3F8
STACK_TOP  equ 0x7000

start:
    cli
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, STACK_TOP
    mov si, msg_real
    call puts16

    ; First entry: PE, then lgdtl and ljmpl from 16-bit protected mode.
    mov ax, 0x0003                      ; RPL 3: invalid for VM entry once PE = 1
    mov fs, ax
    o32 lgdt [gdt_descriptor]
    mov eax, cr0
    or al, 1
    mov cr0, eax
    jmp dword SEL_CODE32:pm32_first

bits 32
pm32_first:
    mov ax, SEL_DATA32
    mov ds, ax
    mov es, ax
    mov fs, ax                          ; valid for VM entry from here
    mov gs, ax
    mov ss, ax
    mov esp, STACK_TOP
    mov ax, SEL_TSS
    ltr ax
    mov esi, msg_protected
    call puts32
    jmp SEL_CODE16:pm16                 ; back to real mode through 16-bit segments

bits 16
pm16:
    mov ax, SEL_DATA16
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax
    mov eax, cr0
    and al, 0xFE
    mov cr0, eax
    jmp 0x0000:real_again

real_again:
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax
    mov sp, STACK_TOP
    mov si, msg_back
    call puts16

    ; Second entry, the same way (the GDT is still loaded, TR still holds the busy TSS).
    mov ax, 0x0003
    mov fs, ax
    mov eax, cr0
    or al, 1
    mov cr0, eax
    jmp dword SEL_CODE32:pm32_second

bits 32
pm32_second:
    mov ax, SEL_DATA32
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax
    mov esi, msg_done
    call puts32
    mov al, 0x21                        ; isa-debug-exit: the run ends with this code
    out 0xF4, al
    hlt

; DS:SI (NUL-terminated) to COM1, waiting for the transmitter (LSR bit 5) before each byte.
bits 16
puts16:
    lodsb
    test al, al
    jz .done
    mov ah, al
    mov dx, COM1 + 5
.wait:
    in al, dx
    test al, 0x20
    jz .wait
    mov al, ah
    mov dx, COM1
    out dx, al
    jmp puts16
.done:
    ret

; The same from 32-bit code, DS:ESI.
bits 32
puts32:
    lodsb
    test al, al
    jz .done
    mov ah, al
    mov dx, COM1 + 5
.wait:
    in al, dx
    test al, 0x20
    jz .wait
    mov al, ah
    mov dx, COM1
    out dx, al
    jmp puts32
.done:
    ret

msg_real:      db "real mode", 10, 0
msg_protected: db "protected mode", 10, 0
msg_back:      db "real mode again", 10, 0
msg_done:      db "protected mode again", 10, 0

align 8
gdt:
    dq 0                                ; 0x00 null
    dq 0x00CF9A000000FFFF               ; 0x08 code: base 0, 4 GiB, 32-bit, exec/read
    dq 0x00CF92000000FFFF               ; 0x10 data: base 0, 4 GiB, 32-bit, read/write
    dq 0x00009A000000FFFF               ; 0x18 code: base 0, 64 KiB, 16-bit
    dq 0x000092000000FFFF               ; 0x20 data: base 0, 64 KiB, 16-bit
    dw 0x0067, tss, 0x8900, 0x0000      ; 0x28 TSS: available 32-bit TSS at tss
gdt_end:

gdt_descriptor:
    dw gdt_end - gdt - 1
    dd gdt

align 4
tss: times 0x68 db 0

times 510 - ($ - $$) db 0
dw 0xAA55
