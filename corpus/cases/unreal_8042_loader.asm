; unreal_8042_loader.asm — a bootloader's "load the kernel above 1 MiB" loop in unreal mode,
; with A20 enabled through the 8042 keyboard controller.
;
;   1. A20 through the 8042: wait until the input buffer is empty (port 0x64 bit 1), command
;      0xD1 (write output port) to 0x64, wait, output port 0xDF (A20 on, no reset) to 0x60,
;      wait; then the classic wrap test: 0000:0500 and FFFF:0510 must differ (A20 on);
;   2. unreal ES only: lgdt, PE = 1, ES = flat 4 GiB selector, PE = 0, ES = 0 in real mode
;      (the hidden 4 GiB limit stays); DS stays an ordinary real-mode segment;
;   3. four "sectors batches" of 4 KiB: fill a bounce buffer at 0000:2000 with the batch
;      number (rep stosd in real mode, ES limit irrelevant), copy it to 0x100000 + n*4 KiB
;      with `a32 rep movsd` (ES:EDI above 1 MiB), advance EDI;
;   4. sum one dword every 256 bytes of the copy with `a32 es lodsd` into EBX, print "LOADED" and exit.

bits 16
org 0x7C00

%include "pm_entry.inc"

start:
    cli
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7C00
    call kbc_wait
    mov al, 0xD1
    out 0x64, al
    call kbc_wait
    mov al, 0xDF
    out 0x60, al
    call kbc_wait
    ; A20 wrap test
    mov ax, 0xFFFF
    mov fs, ax
    mov byte [0x0500], 0x00
    mov byte [fs:0x0510], 0xFF
    cmp byte [0x0500], 0x00
    jne fail                      ; wrapped: A20 is still off
    ; unreal ES
    lgdt [gdt_descriptor]
    mov eax, cr0
    or al, 1
    mov cr0, eax
    mov bx, 0x08
    mov es, bx
    and al, 0xFE
    mov cr0, eax
    jmp 0:.real
.real:
    xor ax, ax
    mov es, ax
    cld
    mov edi, 0x100000
    mov ebp, 1                    ; batch number
.batch:
    push edi
    mov eax, ebp
    imul eax, eax, 0x01010101
    mov di, 0x2000
    mov cx, 0x1000 / 4
    rep stosd                     ; fill the bounce buffer (16-bit addresses)
    pop edi
    mov esi, 0x2000
    mov ecx, 0x1000 / 4
    a32 rep movsd                 ; copy it above 1 MiB
    inc ebp
    cmp ebp, 4
    jbe .batch
    ; checksum of the copy
    mov esi, 0x100000
    mov ecx, 0x4000 / 256         ; one dword every 256 bytes
    xor edx, edx
.sum:
    a32 es lodsd
    add edx, eax
    add esi, 256 - 4
    a32 loop .sum
    mov ebx, edx                  ; 64 samples: 16 of each batch value
    mov si, ok_msg
    mov cx, ok_len
    mov dx, 0xE9
    rep outsb
    mov al, 0x10
    out 0xF4, al
fail:
    mov al, 0x11
    out 0xF4, al

kbc_wait:
    in al, 0x64
    test al, 0x02
    jnz kbc_wait
    ret

ok_msg: db "LOADED", 10
ok_len equ $ - ok_msg

align 8
gdt:
    dq 0
    dq 0x00CF92000000FFFF       ; 0x08 flat data, 4 GiB
TABLE_DESCRIPTOR gdt
