; smm_big_real.asm — SMM-like big real mode: the state a processor enters SMM with, and
; code that relies on its 4 GiB limits, including code above offset 0xFFFF.
;
; SDM Vol. 3C 32.5.1 (table "Processor Register Initialization in SMM"): CS selector =
; SMBASE >> 4, CS base = SMBASE, EIP = 0x8000; DS, ES, FS, GS, SS selector 0, base 0; every
; limit 0xFFFFFFFF; CR0.PE/EM/TS/PG cleared; EFLAGS = 2. The default SMBASE is 0x30000, so
; the handler starts at 3000:8000, linear 0x38000. The access rights follow KVM's enter_smm
; (type 3, S, P, G = 1, D/B = 0: 0x8093 for every segment, CS included). No real-mode
; segment passes KVM's check (limit != 0xFFFF, G = 1), so KVM emulates every instruction.
; The image covers SMBASE .. SMBASE + 0x10040 (the code is 16-bit: CS.D = 0).
;   - 3000:8000: stores EAX/EBX in a "save area" near the top of SMRAM with 32-bit offsets,
;     writes and reads back a dword at 0x100000 (above 1 MiB: DS limit 4 GiB);
;   - `jmp dword` (66 E9 rel32) to offset 0x10010: with a 32-bit operand size EIP is not
;     masked (SDM Vol. 2A, JMP, "Operation": only "IF OperandSize = 16 THEN EIP <- EIP AND
;     0000FFFFH"), and the fetch at CS:10010 is inside the 4 GiB CS limit;
;   - 3000:10010 (linear 0x40010): straight-line 16-bit code above offset 0xFFFF. EIP
;     advances past 0x10010 as a 32-bit register: the SDM masks EIP to 16 bits only in the
;     "Operation" of control transfers with a 16-bit operand size, never for straight-line
;     execution (Vol. 1 3.5: EIP "is advanced from one instruction boundary to the next in
;     straight-line code"); KVM's emulator and the "huge real mode" practice agree (RBIL,
;     HugeRealMode driver: code runs above 64 KiB, only interrupts lose EIP's high word).
;     It pushes/pops through SS with the 16-bit SP (SS.B = 0) and prints "SMM" with
;     `a32 rep outsb`;
;   - `jmp short` to offset 0x10030 from 16-bit code: operand size 16, so EIP = 0x10030 AND
;     0xFFFF = 0x0030 (Jcc/JMP "Operation") — it lands at 3000:0030, which prints "W" and
;     exits with 0x10. (Offset 0x10030 would exit with 0x11.)

bits 16
org 0

SMBASE equ 0x30000

    times 0x30 - ($ - $$) db 0xF4
wrapped:                            ; 3000:0030, reached from the masked short jump
    mov al, 'W'
    out 0xE9, al
    mov al, 0x10
    out 0xF4, al

    times 0x8000 - ($ - $$) db 0xF4
smi_entry:                          ; 3000:8000
    mov eax, 0xCAFE0001
    mov ebx, 0xCAFE0002
    mov [dword SMBASE + 0xFE00], eax     ; a32: offsets beyond 0xFFFF need the 4 GiB limit
    mov [dword SMBASE + 0xFE04], ebx
    mov dword [dword 0x100000], 0x21204D53
    mov ecx, [dword 0x100000]
    mov sp, 0x7000
    jmp dword far_code              ; 66 E9 rel32

    times 0x10010 - ($ - $$) db 0xF4
far_code:                           ; 3000:00010010, linear 0x40010
    push ecx
    pop edx
    mov esi, SMBASE + far_message
    mov ecx, far_message_len
    push dx
    mov dx, 0xE9
    a32 rep outsb
    pop dx
    jmp short not_wrapped           ; EIP = 0x10030 AND 0xFFFF = 0x0030
far_message: db "SMM", 10
far_message_len equ $ - far_message

    times 0x10030 - ($ - $$) db 0xF4
not_wrapped:                        ; 3000:00010030: only if the jump were not masked
    mov al, 0x11
    out 0xF4, al
