; memdisk_round_trip.asm — a real -> 16-bit protected -> real round trip in the style of
; syslinux's MEMDISK (its INT 13h handler copies sectors above 1 MiB from protected mode),
; written fresh.
;
;   1. real mode: install an interrupt handler at IVT[0x30];
;   2. lgdt; PE = 1; far jump to a 16-bit protected-mode code segment (0x08, D = 0);
;   3. 16-bit PM: DS/ES/SS = flat 4 GiB data (0x10), FS and GS = the null selector (loading
;      0 into DS-GS is allowed in protected mode; the register becomes unusable), ltr;
;      fills a 64-byte "sector" at 0x100000 (a32 stosd) and copies it down to linear
;      0x3000 with `a32 rep movsd`, as MEMDISK moves sectors between its image and the
;      caller's buffer;
;   4. back to real mode: every data segment gets a 64 KiB, byte-granular, writable,
;      base-0 descriptor (0x18) so that the hidden limits and attributes are real-mode-like
;      (the null FS/GS become usable again), PE = 0, far jump to real-mode CS, reload DS,
;      ES, SS, FS, GS with 0;
;   5. reflect an interrupt through the IVT: `int 0x30`, and the handler again the way a PM
;      reflector calls it (pushf; call far [IVT entry]); each call adds one to BP and prints;
;   6. checks the copied sector, prints "MEMDISK" and exits through isa-debug-exit.
; KVM's checks: after PE = 0 the real-mode branch fails on CS/DS/... base != selector x 16
; until the far jump and the reloads; TR keeps the busy TSS, which real mode ignores.

bits 16
org 0x1000

%include "pm_entry.inc"

start:
    cli
    cld
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7000
    mov word [0x30 * 4], int30_handler
    mov word [0x30 * 4 + 2], 0
    xor bp, bp
    lgdt [gdt_descriptor]
    mov eax, cr0
    or al, 1
    mov cr0, eax
    jmp 0x08:pm16

pm16:                               ; 16-bit protected mode, CS = 0x08
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor ax, ax
    mov fs, ax                      ; null: FS unusable
    mov gs, ax                      ; null: GS unusable
    mov ax, 0x20
    ltr ax
    ; write the "sector" above 1 MiB, then copy it down
    mov edi, 0x100000
    mov eax, 0x5EC70000
    mov ecx, 16
.fill:
    a32 stosd
    inc eax
    a32 loop .fill
    mov esi, 0x100000
    mov edi, 0x3000
    mov ecx, 16
    a32 rep movsd
    ; back to real mode through a 64 KiB segment
    mov ax, 0x18
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
    mov sp, 0x7000
    int 0x30                        ; through IVT[0x30]
    pushf                           ; reflected the way a PM reflector does it
    call far [0x30 * 4]
    cmp dword [0x3000 + 15 * 4], 0x5EC7000F
    jne fail
    mov si, ok_msg
    mov cx, ok_len
    mov dx, 0xE9
    rep outsb
    mov al, 0x10
    out 0xF4, al
fail:
    mov al, 0x11
    out 0xF4, al

int30_handler:
    inc bp
    push ax
    mov al, '0'
    add ax, bp
    out 0xE9, al
    pop ax
    iret

ok_msg: db " MEMDISK", 10
ok_len equ $ - ok_msg

align 8
gdt:
    dq 0
    dq 0x00009A000000FFFF           ; 0x08 16-bit code, base 0, 64 KiB
    dq 0x00CF92000000FFFF           ; 0x10 flat data, 4 GiB
    dq 0x000092000000FFFF           ; 0x18 16-bit data, base 0, 64 KiB (for real mode)
    dw 0x0067, tss, 0x8900, 0x0000  ; 0x20 32-bit TSS
TABLE_DESCRIPTOR gdt
align 4
tss: times 0x68 db 0
