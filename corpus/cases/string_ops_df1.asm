; string_ops_df1.asm — string instructions with DF = 1 (descending addresses) in real mode.
;
; SDM Vol. 2B, MOVS/STOS/LODS/SCAS/CMPS "Operation": with DF = 1 (E)SI/(E)DI are decremented
; by the element size after each element; REP repeats while (E)CX != 0, REPNE/REPE also
; stop on ZF. The case, after STD:
;   - `rep movsb` moves a 12-byte string up by 4 bytes within itself (overlapping: source
;     below destination, so it must run from the top down), source and destination given
;     as the last bytes;
;   - `rep stosw` fills 8 words downward ending at 0x0600;
;   - `lodsb` x3 reads three bytes backward into AL, summed into BL;
;   - `repne scasb` searches backward for 'Q' in the moved string; CX counts what is left;
;   - `repe cmpsw` compares two word arrays from their last elements down and stops at the
;     first difference (the word at index 1);
;   - CLD, then a forward `lodsw` to show DF = 0 again; prints "DF" and exits.

bits 16
org 0x7C00

start:
    cli
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7000
    std
    ; overlapping move: text[0..11] -> text[4..15], top down
    mov si, text + 11
    mov di, text + 15
    mov cx, 12
    rep movsb                       ; SI = text - 1, DI = text + 3
    ; fill 8 words downward ending at 0x0600
    mov di, 0x0600 + 14
    mov ax, 0xABCD
    mov cx, 8
    rep stosw                       ; DI = 0x05FE
    ; lodsb backward
    mov si, text + 15
    xor bx, bx
    lodsb
    add bl, al
    lodsb
    add bl, al
    lodsb
    add bl, al                      ; SI = text + 12
    ; repne scasb backward for 'Q'
    mov di, text + 15
    mov al, 'Q'
    mov cx, 16
    repne scasb
    mov bp, cx                      ; what is left of the count
    mov dx, di                      ; one below the 'Q'
    ; repe cmpsw backward
    mov si, words_a + 6
    mov di, words_b + 6
    mov cx, 4
    repe cmpsw
    pushf
    pop word [flags_after_cmps]
    mov [cx_after_cmps], cx
    cld
    mov si, text
    lodsw                           ; forward again: SI = text + 2
    mov al, 'D'
    out 0xE9, al
    mov al, 'F'
    out 0xE9, al
    mov al, 0x10
    out 0xF4, al

text:     db "ABCDEFGHQJKL", 0, 0, 0, 0
words_a:  dw 0x1111, 0x2222, 0x3333, 0x4444
words_b:  dw 0x1111, 0x2A2A, 0x3333, 0x4444
flags_after_cmps: dw 0
cx_after_cmps:    dw 0
