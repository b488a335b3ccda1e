; seabios_transition.asm — SeaBIOS-style 32-bit transition and return (in the manner of
; romlayout.S transition32 / transition16; written fresh), run from the BIOS segment F000.
;
; The BIOS code is at F000:E000 (linear 0xFE000) and the start state is the SDM reset
; state after the reset vector's far jump (preset `intel`: CS AR 0x93, TR 0x82). SeaBIOS
; never loads TR, so once PE = 1 the state stays invalid for VM entry (tr.type) for the
; whole 32-bit part: a VMM without unrestricted guest emulates all of it.
;   transition32 (EDX = 32-bit return address): cli, cld, NMI off through port 0x70 with a
;     read of port 0x71 (the ISA bus answers 0xFF), fast A20 through port 0x92
;     (read-modify-write), `lidtw`/`lgdtw` with a CS: override (16-bit operand: a 24-bit
;     base), CR0 = (CR0 & ~(PG|CD|NW)) | PE in one write (0x60000010 -> 0x00000011),
;     `66 EA` to the 32-bit code segment at BIOS_ADDR + label, DS..SS = 32-bit data,
;     `jmp edx`;
;   32-bit work: fills 16 dwords at 0x200000 and sums them (a 32-bit "C" routine);
;   transition16 (EDX = 16-bit return offset): DS..SS = 16-bit data segments, far jump to
;     a 16-bit code segment, PE = 0, far jump to F000 (reloads CS in real mode), `lidtw`
;     the real-mode IVT descriptor, zero the data segments, `jmp edx` (66 FF E2: a 32-bit
;     operand size near jump in 16-bit code, EIP = EDX unmasked);
;   back in real mode: prints "SEABIOS" and exits.

bits 16
org 0xE000

BIOS_ADDR   equ 0xF0000
SEG32_CS    equ 0x10
SEG32_DS    equ 0x18
SEG16_CS    equ 0x20
SEG16_DS    equ 0x28

entry:                              ; F000:E000
    xor ax, ax
    mov ss, ax
    mov esp, 0x7000
    mov edx, BIOS_ADDR + work32
    jmp transition32

transition32:
    cli
    cld
    mov ecx, eax
    mov eax, 0x8F                   ; CMOS index 0x0F with the NMI-disable bit
    out 0x70, al
    in al, 0x71
    in al, 0x92
    or al, 0x02
    out 0x92, al
    mov eax, ecx
    lidt [cs:pmode_idt]             ; lidtw: 16-bit operand size
    lgdt [cs:gdt_48]                ; lgdtw
    mov ecx, cr0
    and ecx, ~0xE0000000            ; clear PG, CD, NW
    or ecx, 1
    mov cr0, ecx
    jmp dword SEG32_CS:(BIOS_ADDR + .pm32)
bits 32
.pm32:
    mov ecx, SEG32_DS
    mov ds, cx
    mov es, cx
    mov ss, cx
    mov fs, cx
    mov gs, cx
    jmp edx

work32:                             ; a 32-bit routine
    mov edi, 0x200000
    mov eax, 0x01000001
    mov ecx, 16
.fill:
    stosd
    add eax, 0x01000001
    loop .fill
    mov esi, 0x200000
    mov ecx, 16
    xor ebx, ebx
.sum:
    lodsd
    add ebx, eax
    loop .sum
    mov edx, back16
    jmp transition16                ; relative: fine at BIOS_ADDR + offset

transition16:
    mov ecx, SEG16_DS
    mov ds, cx
    mov es, cx
    mov ss, cx
    mov fs, cx
    mov gs, cx
    jmp word SEG16_CS:.pm16         ; ljmpw
bits 16
.pm16:
    mov ecx, cr0
    and ecx, ~1
    mov cr0, ecx
    jmp 0xF000:.real                ; ljmpw to SEG_BIOS
.real:
    lidt [cs:rmode_idt]
    xor cx, cx
    mov fs, cx
    mov gs, cx
    mov es, cx
    mov ds, cx
    mov ss, cx
    jmp edx                         ; 66 FF E2

back16:
    mov si, message
    mov cx, message_len
    mov dx, 0xE9
    cs rep outsb
    mov al, 0x10
    out 0xF4, al

message: db "SEABIOS", 10
message_len equ $ - message

align 8
gdt:
    dq 0
    dq 0
    dq 0x00CF9B000000FFFF           ; 0x10 32-bit code, flat
    dq 0x00CF93000000FFFF           ; 0x18 32-bit data, flat
    dq 0x00009B0F0000FFFF           ; 0x20 16-bit code, base 0xF0000, 64 KiB
    dq 0x000093000000FFFF           ; 0x28 16-bit data, base 0, 64 KiB
gdt_end:
gdt_48:     dw gdt_end - gdt - 1
            dd BIOS_ADDR + gdt
pmode_idt:  dw 0
            dd 0
rmode_idt:  dw 0x3FF
            dd 0
