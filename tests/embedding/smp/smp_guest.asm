; smp_guest.asm — the guest of tests/embedding/smp_atomicity_test.cpp: several vCPUs (threads,
; each with its own Emulator over the same RAM) run these loops at once, and the test checks
; the shared counters afterwards. Assembled twice: -DMODE=16 for real mode, -DMODE=32 for
; 32-bit flat protected mode; segment bases are 0 in both, so the addresses below are physical.
;
; Inputs (set by the test): ECX = iterations, EDI = thread index (0..7), ESP = a stack of the
; thread's own. Each program ends with HLT; `out YIELD_PORT, al` asks the host to yield the
; thread (a waiter that finds a lock taken gives its core to the holder: 2 cores, 4 threads).
;
; Shared words are touched only by locked instructions (and XCHG, always locked), except the
; counters inside the spin locks' critical sections, which are plain loads and stores ordered
; by the lock: so the guest has no data race in the x86 sense, and ThreadSanitizer, which
; checks the emulator, must not report one either (docs/embedding.md, "SMP guests").

%ifndef MODE
%define MODE 16
%endif
bits MODE
org 0x1000

YIELD_PORT equ 0x80

; ---- shared data (physical addresses)
C_INC      equ 0x8000 ; lock inc dword                 +1 per iteration
C_XADD     equ 0x8004 ; lock xadd dword                +1
C_ADD      equ 0x8008 ; lock add dword, 3              +3
C_SUB      equ 0x800C ; lock sub dword, 1              -1
C_ADC      equ 0x8010 ; clc; lock adc dword, 1         +1
C_SBB      equ 0x8014 ; stc; lock sbb dword, 0         -1
C_WORD     equ 0x8018 ; lock inc word                  +1 (mod 2^16)
C_BYTE     equ 0x801A ; lock add byte, 1               +1 (mod 2^8)
C_DEC_BYTE equ 0x801B ; lock dec byte                  -1 (mod 2^8)
C_UNALIGN  equ 0x8021 ; lock inc dword inside the aligned 8 bytes at 0x8020
C_SPLIT    equ 0x803E ; lock inc dword across the 8-byte and 64-byte line boundary at 0x8040
C_NOT      equ 0x8048 ; lock not dword: ends as it began when the total count is even
C_NEG      equ 0x804C ; lock neg dword: likewise
BITS_WORD  equ 0x8050 ; bit EDI belongs to thread EDI: set and cleared by or/and/xor/bts/btr/btc
C_CMPXCHG  equ 0x8060 ; lock cmpxchg dword increment loop  +1
C_8B       equ 0x8068 ; lock cmpxchg8b qword increment loop +1 (crosses 2^32 on the way)
ERRORS     equ 0x9000 ; dword per thread: owned-bit checks that failed

; ---- spin locks, each with a counter its critical section increments non-atomically
LOCK_CMPXCHG equ 0x8100 ; 0 free, 1 taken: lock cmpxchg to take, xchg to release
LOCK_XCHG    equ 0x8140 ; 0 free, 1 taken: xchg to take, lock and to release
LOCK_BTS     equ 0x8180 ; bit 0: lock bts to take, lock btr to release
LOCK_XADD    equ 0x81C0 ; holders + waiters: lock xadd 1 from 0 takes; lock dec undoes/releases
LOCK_SUB     equ 0x8200 ; 1 free: lock sub 1 reaching 0 takes; lock add 1 undoes/releases
LOCK_INC     equ 0x8240 ; -1 free: lock inc reaching 0 takes; lock dec undoes/releases
GUARDED      equ 4      ; each lock's counter sits 4 bytes after it

; The critical section: a plain load, increment and store of the lock's counter, which only
; mutual exclusion keeps exact.
%macro guarded_increment 1
    mov eax, [%1 + GUARDED]
    inc eax
    mov [%1 + GUARDED], eax
%endmacro

; counters: every lockable read-modify-write on shared counters, ECX times. At 0x1000.
counters:
    mov esi, 1
    xchg ecx, edi
    shl esi, cl               ; ESI = 1 << thread
    xchg ecx, edi
    mov edx, esi
    not edx                   ; EDX = ~(1 << thread)
    xor ebp, ebp              ; failed owned-bit checks
.loop:
    lock inc dword [C_INC]
    mov eax, 1
    lock xadd [C_XADD], eax
    lock add dword [C_ADD], 3
    lock sub dword [C_SUB], 1
    clc
    lock adc dword [C_ADC], 1
    stc
    lock sbb dword [C_SBB], 0
    lock inc word [C_WORD]
    lock add byte [C_BYTE], 1
    lock dec byte [C_DEC_BYTE]
    lock inc dword [C_UNALIGN]
    lock inc dword [C_SPLIT]
    lock not dword [C_NOT]
    lock neg dword [C_NEG]
    ; Owned bits: another vCPU's lost update would bring back or wipe out this thread's bit.
    lock or [BITS_WORD], esi
    lock btr dword [BITS_WORD], edi ; was set: CF = 1
    jc .b1
    inc ebp
.b1:
    lock xor [BITS_WORD], esi
    lock btc dword [BITS_WORD], edi ; was set: CF = 1, now clear
    jc .b2
    inc ebp
.b2:
    lock bts dword [BITS_WORD], edi ; was clear: CF = 0, now set
    jnc .b3
    inc ebp
.b3:
    lock and [BITS_WORD], edx
    ; lock cmpxchg increment: EAX starts at any guess; a failed compare loads the current value.
    push edx
    xor eax, eax
.cas:
    lea edx, [eax + 1]
    lock cmpxchg [C_CMPXCHG], edx
    jnz .cas
    ; lock cmpxchg8b increment of EDX:EAX, read first by a compare that may fail.
    push ecx
    push ebx
    xor eax, eax
    xor edx, edx
    xor ebx, ebx
    xor ecx, ecx
    lock cmpxchg8b [C_8B]     ; 0 -> 0 or a failed compare: EDX:EAX = the value
.cas8:
    mov ebx, eax
    mov ecx, edx
    add ebx, 1
    adc ecx, 0
    lock cmpxchg8b [C_8B]
    jnz .cas8
    pop ebx
    pop ecx
    pop edx
    dec ecx
    jnz .loop
    mov [ERRORS + edi * 4], ebp
    hlt

times 0x400 - ($ - $$) db 0xCC
; spinlocks: six spin locks, each taken ECX times around a non-atomic increment. At 0x1400.
spinlocks:
.loop:
    ; lock cmpxchg 0 -> 1 takes it; xchg with 0 releases it.
.take_cmpxchg:
    xor eax, eax
    mov edx, 1
    lock cmpxchg [LOCK_CMPXCHG], edx
    jz .have_cmpxchg
    out YIELD_PORT, al
    jmp .take_cmpxchg
.have_cmpxchg:
    guarded_increment LOCK_CMPXCHG
    xor eax, eax
    xchg [LOCK_CMPXCHG], eax

    ; xchg 1 in, 0 back means taken; lock and 0 releases it.
.take_xchg:
    mov eax, 1
    xchg [LOCK_XCHG], eax
    test eax, eax
    jz .have_xchg
    out YIELD_PORT, al
    jmp .take_xchg
.have_xchg:
    guarded_increment LOCK_XCHG
    lock and dword [LOCK_XCHG], 0

    ; lock bts of bit 0 with CF = 0 takes it; lock btr releases it.
.take_bts:
    lock bts dword [LOCK_BTS], 0
    jnc .have_bts
    out YIELD_PORT, al
    jmp .take_bts
.have_bts:
    guarded_increment LOCK_BTS
    lock btr dword [LOCK_BTS], 0

    ; lock xadd 1 that finds 0 takes it; anything else is undone with lock dec.
.take_xadd:
    mov eax, 1
    lock xadd [LOCK_XADD], eax
    test eax, eax
    jz .have_xadd
    lock dec dword [LOCK_XADD]
    out YIELD_PORT, al
    jmp .take_xadd
.have_xadd:
    guarded_increment LOCK_XADD
    lock dec dword [LOCK_XADD]

    ; a semaphore of 1: lock sub reaching 0 takes it; lock add 1 undoes or releases.
.take_sub:
    lock sub dword [LOCK_SUB], 1
    jz .have_sub
    lock add dword [LOCK_SUB], 1
    out YIELD_PORT, al
    jmp .take_sub
.have_sub:
    guarded_increment LOCK_SUB
    lock add dword [LOCK_SUB], 1

    ; -1 free: lock inc reaching 0 takes it; lock dec undoes or releases.
.take_inc:
    lock inc dword [LOCK_INC]
    jz .have_inc
    lock dec dword [LOCK_INC]
    out YIELD_PORT, al
    jmp .take_inc
.have_inc:
    guarded_increment LOCK_INC
    lock dec dword [LOCK_INC]

    dec ecx
    jnz .loop
    hlt

times 0x800 - ($ - $$) db 0xCC
; issue14: the measurement of issue 14, item 6 — lock inc and lock xadd, ECX times. At 0x1800.
issue14:
    mov eax, 1
    lock inc dword [C_INC]
    lock xadd [C_XADD], eax
    dec ecx
    jnz issue14
    hlt
