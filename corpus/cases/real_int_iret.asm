; real_int_iret.asm — software interrupts and IRET in real mode through an IVT the case
; installs: a BIOS-like INT 10h teletype service, INT3 and INTO.
;
;   IVT[0x10] -> a handler that, for AH = 0x0E, writes AL to the debug console (the
;     teletype function) and returns CF = 0 by editing the FLAGS image on its stack; for
;     any other AH it returns CF = 1 (BIOS convention), then IRET;
;   IVT[3] and IVT[4] -> handlers that count into DI and SI;
; The caller runs with IF = 1 (STI): each INT pushes FLAGS, CS, IP, clears IF and TF
; (SDM Vol. 3B, "8086 Emulation", real-address mode interrupt handling; Vol. 2A, INT n,
; "Operation", REAL-ADDRESS-MODE), which the handler records with PUSHF; IRET restores
; IF = 1 and the edited CF. It prints "IVT" through INT 10h, calls an unsupported function
; (CF = 1 expected), executes INT3 (CC) and INTO (CE) with OF = 1 (taken) and OF = 0 (not
; taken), and exits.

bits 16
org 0x7C00

start:
    cli
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7000
    mov word [0x10 * 4], int10
    mov word [0x10 * 4 + 2], 0
    mov word [3 * 4], int3_handler
    mov word [3 * 4 + 2], 0
    mov word [4 * 4], into_handler
    mov word [4 * 4 + 2], 0
    xor si, si
    xor di, di
    sti
    mov ah, 0x0E
    mov al, 'I'
    int 0x10
    mov al, 'V'
    int 0x10
    mov al, 'T'
    int 0x10
    mov ah, 0x77                    ; unsupported: CF = 1
    stc
    int 0x10
    sbb cx, cx                      ; CX = 0xFFFF when CF = 1
    int3
    mov al, 0x7F
    add al, 1                       ; OF = 1
    into                            ; taken: IVT[4]
    xor al, al                      ; OF = 0
    into                            ; not taken
    pushf
    pop bx                          ; FLAGS after all that: IF = 1
    mov al, 0x10
    out 0xF4, al

int10:
    push bp
    mov bp, sp
    pushf
    pop dx                          ; FLAGS inside the handler: IF = 0
    cmp ah, 0x0E
    jne .unsupported
    out 0xE9, al
    and word [bp + 6], ~1           ; CF = 0 in the FLAGS image
    pop bp
    iret
.unsupported:
    or word [bp + 6], 1             ; CF = 1
    pop bp
    iret

int3_handler:
    inc di
    iret

into_handler:
    inc si
    iret
