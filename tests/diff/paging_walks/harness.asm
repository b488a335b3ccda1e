; paging_walks harness: a 64 KiB BIOS image that runs random page-table cases (docs/differential.md,
; "Random page tables against QEMU"). The same image runs on qemu-system-i386 (-bios) and on
; transit86; the host compares what each writes to port 0xE9. The record layouts are mirrored in
; case_table.hpp (kCase*, kResult*): keep both in step.
;
; Physical memory: low RAM holds the harness's data; the case table is loaded at CASE_TABLE; the
; eight scratch pages (page tables and data of a case) lie at 16-32 MiB where "entry-like" values
; (case_table.hpp) point. The harness runs from ROM at 0xF0000 (identity-mapped, U/S = 1 so ring 3
; runs there too); a fixed page table maps the first MiB onto itself and linear 0x100000 + k * 4K
; onto scratch page k, for edits made while paging is on.

CASE_TABLE  equ 0x2000000
CASE        equ 0x2000          ; the current case (1024 bytes, copied from the table)
RES         equ 0x2400          ; its result record
IDT         equ 0x1000
TSS         equ 0x1800
GDT_RAM     equ 0x1900
CUR_SLOT    equ 0x1A00          ; where the next fault is recorded
RESUME      equ 0x1A04          ; where a fault handler continues
CASE_PTR    equ 0x1A08
CASES_LEFT  equ 0x1A0C
OP_INDEX    equ 0x1A10
GDTR_RAM    equ 0x1A20
IDTR_RAM    equ 0x1A28
HPT32       equ 0x3000          ; harness page table, 32-bit entries
HPTPAE      equ 0x4000          ; harness page table, PAE entries
PD32        equ 0x5000          ; root page directory (32-bit modes), CR3
PDPT        equ 0x6000          ; PAE page-directory-pointer table, CR3
PAEPD0      equ 0x7000          ; PAE page directories for PDPTE 0..3: 0x7000..0xA000
ROOT_END    equ 0xB000
STACK0      equ 0xC000
STACK3      equ 0xD000
ALIAS       equ 0x100000        ; linear alias of scratch page 0

; case record offsets (case_table.hpp)
C_INDEX     equ 0
C_FLAGS     equ 4
C_CR3       equ 8
C_FILL      equ 12
C_NENTRIES  equ 16
C_NOPS      equ 20
C_NWATCH    equ 24
C_NPAGES    equ 28
C_PAGES     equ 32
C_ENTRIES   equ 96
C_OPS       equ 480
C_WATCH     equ 864

F_MODE      equ 3               ; 0 32-bit, 1 32-bit + CR4.PSE, 2 PAE
F_NXE       equ 4
F_WP        equ 8
F_PGE       equ 16
F_DUMP      equ 32

OP_READ     equ 1
OP_WRITE    equ 2
OP_FETCH    equ 3
OP_EDIT     equ 4
OP_INVLPG_ALL equ 5
OP_CR3      equ 6
OP_FLUSH    equ 7
OP_INVLPG   equ 8

NO_FAULT    equ 0x100
SKIPPED     equ 0x1FE

            org 0xF0000
            bits 16
start16:    cli
            cld
            o32 lgdt [cs:gdtr_rom - $$]
            mov eax, cr0
            or al, 1
            mov cr0, eax
            jmp dword 0x08:pm32

            bits 32
pm32:       mov ax, 0x10
            mov ds, ax
            mov es, ax
            mov ss, ax
            mov fs, ax
            mov gs, ax
            mov esp, STACK0
            ; GDT and TSS in RAM (LTR writes the busy bit)
            mov esi, gdt
            mov edi, GDT_RAM
            mov ecx, gdt_end - gdt
            rep movsb
            mov word [GDTR_RAM], gdt_end - gdt - 1
            mov dword [GDTR_RAM + 2], GDT_RAM
            lgdt [GDTR_RAM]
            jmp 0x08:.reloaded
.reloaded:  mov edi, TSS
            xor eax, eax
            mov ecx, 26
            rep stosd
            mov dword [TSS + 4], STACK0
            mov dword [TSS + 8], 0x10
            mov word [TSS + 102], 104
            mov ax, 0x28
            ltr ax
            ; IDT: vectors 0-31 to their stubs (interrupt gates, DPL 0), 0x80 the ring-3 return
            mov edi, IDT
            xor eax, eax
            mov ecx, 512
            rep stosd
            xor ecx, ecx
.idt_loop:  mov eax, ecx
            imul eax, eax, stub_size
            add eax, stubs
            mov ebx, 0x8E00
            call set_gate
            inc ecx
            cmp ecx, 32
            jb .idt_loop
            mov ecx, 0x80
            mov eax, ring3_done
            mov ebx, 0xEE00
            call set_gate
            mov word [IDTR_RAM], 256 * 8 - 1
            mov dword [IDTR_RAM + 2], IDT
            lidt [IDTR_RAM]
            ; harness page tables: the first MiB onto itself, then the scratch aliases
            mov edi, HPT32
            xor eax, eax
            mov ecx, 2048
            rep stosd
            xor ecx, ecx
.hpt_loop:  mov eax, ecx
            shl eax, 12
            or eax, 0x67                    ; P RW US A D
            mov [HPT32 + ecx * 4], eax
            mov [HPTPAE + ecx * 8], eax
            inc ecx
            cmp ecx, 256
            jb .hpt_loop
            xor ecx, ecx
.alias_loop: call scratch_page          ; eax = physical address of scratch page ecx
            or eax, 0x67
            mov [HPT32 + 1024 + ecx * 4], eax
            mov [HPTPAE + 2048 + ecx * 8], eax
            inc ecx
            cmp ecx, 8
            jb .alias_loop
            ; the case table
            cmp dword [CASE_TABLE], 0x54574750   ; "PGWT"
            jne all_done
            mov dword [CASE_PTR], CASE_TABLE + 1024
            mov eax, [CASE_TABLE + 4]
            mov [CASES_LEFT], eax

case_loop:  cmp dword [CASES_LEFT], 0
            je all_done
            mov esi, [CASE_PTR]
            mov edi, CASE
            mov ecx, 256
            rep movsd
            jmp run_case                    ; it resets ESP: no call
case_done:  add dword [CASE_PTR], 1024
            dec dword [CASES_LEFT]
            jmp case_loop

all_done:   mov dword [RES], 0x45574750      ; "PGWE"
            mov eax, [CASE_TABLE + 4]
            mov [RES + 4], eax
            mov esi, RES
            mov ecx, 8
            mov dx, 0xE9
            rep outsb
            mov dx, 0xF4
            xor eax, eax
            out dx, eax
.halt:      hlt
            jmp .halt

; ecx = vector, eax = handler, ebx = type/DPL word
set_gate:   mov [IDT + ecx * 8], ax
            mov word [IDT + ecx * 8 + 2], 0x08
            mov [IDT + ecx * 8 + 4], bx
            shr eax, 16
            mov [IDT + ecx * 8 + 6], ax
            ret

; ecx = scratch page index 0-7 -> eax = its physical address: 4 MiB block 4 + k / 2, page k % 2
scratch_page:
            mov eax, ecx
            shr eax, 1
            add eax, 4
            shl eax, 22
            test ecx, 1
            jz .even
            or eax, 0x1000
.even:      ret

; ---------------------------------------------------------------------------------------------
run_case:   mov dword [RES], 0x52574750      ; "PGWR"
            mov eax, [CASE + C_INDEX]
            mov [RES + 4], eax
            mov dword [RES + 8], NO_FAULT
            mov dword [RES + 12], 0
            mov dword [RES + 16], 0
            mov dword [RES + 20], 0
            mov dword [CUR_SLOT], RES + 8
            mov dword [RESUME], teardown
            ; root tables zeroed, the harness's own entries in place
            mov edi, PD32
            xor eax, eax
            mov ecx, (ROOT_END - PD32) / 4
            rep stosd
            mov dword [PD32], HPT32 | 0x67
            mov dword [PDPT], PAEPD0 | 1
            mov dword [PAEPD0], HPTPAE | 0x67
            ; scratch filled with entry-like values from the case's xorshift32 seed
            mov edx, [CASE + C_FILL]
            xor ecx, ecx
.fill_page: push ecx
            call scratch_page
            mov edi, eax
            xor ebx, ebx
.fill_word: mov eax, edx
            shl eax, 13
            xor edx, eax
            mov eax, edx
            shr eax, 17
            xor edx, eax
            mov eax, edx
            shl eax, 5
            xor edx, eax
            mov eax, [CASE + C_FLAGS]
            and eax, F_MODE
            cmp eax, 2
            jne .low_word
            test ebx, 1
            jz .low_word
            mov eax, edx                    ; PAE: an odd doubleword is bits 63:32, XD or 0
            and eax, 0x80000000
            jmp .store
.low_word:  mov eax, edx
            and eax, 0x00C01FFF
            or eax, 0x01000000
            test edx, 0x80000000
            jz .store
            mov al, 0xC3                    ; a RET for instruction fetches
.store:     mov [edi + ebx * 4], eax
            inc ebx
            cmp ebx, 1024
            jb .fill_word
            pop ecx
            inc ecx
            cmp ecx, 8
            jb .fill_page
            ; the case's entries
            xor ecx, ecx
.entry:     cmp ecx, [CASE + C_NENTRIES]
            jae .entries_done
            mov ebx, ecx
            shl ebx, 4
            mov edi, [CASE + C_ENTRIES + ebx]
            mov eax, [CASE + C_ENTRIES + ebx + 4]
            mov [edi], eax
            mov eax, [CASE + C_FLAGS]
            and eax, F_MODE
            cmp eax, 2
            jne .next_entry
            mov eax, [CASE + C_ENTRIES + ebx + 8]
            mov [edi + 4], eax
.next_entry: inc ecx
            jmp .entry
.entries_done:
            ; CR4, EFER, CR3, then CR0.PG (and WP)
            mov ebx, [CASE + C_FLAGS]
            xor eax, eax
            mov ecx, ebx
            and ecx, F_MODE
            cmp ecx, 1
            jne .no_pse
            or eax, 0x10
.no_pse:    cmp ecx, 2
            jne .no_pae
            or eax, 0x20
.no_pae:    test ebx, F_PGE
            jz .no_pge
            or eax, 0x80
.no_pge:    mov cr4, eax
            mov ecx, 0xC0000080
            rdmsr
            and eax, ~0x800
            test ebx, F_NXE
            jz .no_nxe
            or eax, 0x800
.no_nxe:    wrmsr
            mov eax, [CASE + C_CR3]
            mov cr3, eax
            mov eax, cr0
            and eax, ~0x00010000
            test ebx, F_WP
            jz .no_wp
            or eax, 0x00010000
.no_wp:     or eax, 0x80000000
            mov cr0, eax
            mov dword [OP_INDEX], 0
; the operations, each recorded in its slot
op_loop:    mov edi, [OP_INDEX]
            cmp edi, [CASE + C_NOPS]
            jae teardown
            mov esi, edi
            shl esi, 4
            add esi, CASE + C_OPS
            shl edi, 4
            add edi, RES + 24
            mov [CUR_SLOT], edi
            mov dword [edi], NO_FAULT
            mov dword [edi + 4], 0
            mov dword [edi + 8], 0
            mov dword [edi + 12], 0
            mov dword [RESUME], op_next
            movzx edx, byte [esi]
            mov ebx, [esi + 4]
            mov eax, [esi + 8]
            movzx ecx, byte [esi + 1]
            cmp dl, OP_FETCH
            ja control_op
            jb .access
            ; a fetch runs only where the probe before it read a RET or faulted
            cmp dword [edi - 16], NO_FAULT
            jne .access
            cmp byte [edi - 16 + 12], 0xC3
            je .access
            mov dword [edi], SKIPPED
            jmp op_next
.access:    cmp byte [esi + 2], 3
            je .ring3
            call access_body
            mov edi, [CUR_SLOT]
            mov [edi + 12], eax
            jmp op_next
.ring3:     push dword 0x23
            push dword STACK3
            push dword 0x2
            push dword 0x1B
            push dword ring3_entry
            iretd

ring3_entry: mov si, 0x23
            mov ds, si
            mov es, si
            call access_body
            int 0x80

; dl = kind, ebx = linear address, cl = size, eax = value to write; returns eax
access_body: cmp dl, OP_READ
            jne .not_read
            cmp cl, 1
            jne .r2
            movzx eax, byte [ebx]
            ret
.r2:        cmp cl, 2
            jne .r4
            movzx eax, word [ebx]
            ret
.r4:        mov eax, [ebx]
            ret
.not_read:  cmp dl, OP_WRITE
            jne .fetch
            cmp cl, 1
            jne .w2
            mov [ebx], al
            xor eax, eax
            ret
.w2:        cmp cl, 2
            jne .w4
            mov [ebx], ax
            xor eax, eax
            ret
.w4:        mov [ebx], eax
            xor eax, eax
            ret
.fetch:     call ebx
            xor eax, eax
            ret

ring3_done: mov si, 0x10
            mov ds, si
            mov es, si
            mov edi, [CUR_SLOT]
            mov [edi + 12], eax
            mov esp, STACK0
            jmp op_next

control_op: cmp dl, OP_EDIT
            jne .invlpg_all
            mov ecx, [CASE + C_FLAGS]
            and ecx, F_MODE
            cmp ecx, 2
            jne .edit_low
            mov ecx, [esi + 12]
            mov [ebx + 4], ecx
.edit_low:  mov [ebx], eax
            jmp op_next
.invlpg_all: cmp dl, OP_INVLPG_ALL
            jne .cr3
            xor ecx, ecx
.page:      cmp ecx, [CASE + C_NPAGES]
            jae op_next
            mov eax, [CASE + C_PAGES + ecx * 4]
            invlpg [eax]
            inc ecx
            jmp .page
.cr3:       cmp dl, OP_CR3
            jne .flush
            mov eax, cr3
            mov cr3, eax
            jmp op_next
.flush:     cmp dl, OP_FLUSH
            jne .invlpg
            mov eax, cr4
            test eax, 0x80
            jz .flush_cr3
            and eax, ~0x80
            mov cr4, eax
            or eax, 0x80
            mov cr4, eax
            jmp op_next
.flush_cr3: mov eax, cr3
            mov cr3, eax
            jmp op_next
.invlpg:    cmp dl, OP_INVLPG
            jne op_next
            invlpg [ebx]
op_next:    mov esp, STACK0
            mov ax, 0x10
            mov ds, ax
            mov es, ax
            inc dword [OP_INDEX]
            jmp op_loop

; paging off; the watched entries, the data, out through port 0xE9
teardown:   mov esp, STACK0
            mov ax, 0x10
            mov ds, ax
            mov es, ax
            mov dword [RESUME], teardown_late
            mov eax, cr0
            and eax, ~0x80010000
            mov cr0, eax
            xor eax, eax
            mov cr4, eax
teardown_late:
            mov esp, STACK0
            mov edi, [CASE + C_NOPS]
            shl edi, 4
            add edi, RES + 24               ; watch words follow the op slots
            xor ecx, ecx
.watch:     cmp ecx, [CASE + C_NWATCH]
            jae .watched
            mov ebx, [CASE + C_WATCH + ecx * 4]
            mov eax, [ebx]
            mov [edi + ecx * 8], eax
            xor eax, eax
            mov edx, [CASE + C_FLAGS]
            and edx, F_MODE
            cmp edx, 2
            jne .watch32
            mov eax, [ebx + 4]
.watch32:   mov [edi + ecx * 8 + 4], eax
            inc ecx
            jmp .watch
.watched:   lea edi, [edi + ecx * 8]
            push edi
            test dword [CASE + C_FLAGS], F_DUMP
            jz .no_dump
            xor ecx, ecx
.dump:      push ecx
            call scratch_page
            mov esi, eax
            mov ecx, 4096
            mov dx, 0xE9
            rep outsb
            pop ecx
            inc ecx
            cmp ecx, 8
            jb .dump
.no_dump:   ; the watched words are reported above: zero them so the digest covers the rest
            xor ecx, ecx
.unwatch:   cmp ecx, [CASE + C_NWATCH]
            jae .digest
            mov ebx, [CASE + C_WATCH + ecx * 4]
            mov dword [ebx], 0
            mov edx, [CASE + C_FLAGS]
            and edx, F_MODE
            cmp edx, 2
            jne .unwatch32
            mov dword [ebx + 4], 0
.unwatch32: inc ecx
            jmp .unwatch
.digest:    xor edx, edx
            xor ecx, ecx
.digest_page: push ecx
            call scratch_page
            mov esi, eax
            mov ecx, 1024
.digest_word: rol edx, 7
            xor edx, [esi]
            add edx, esi
            add esi, 4
            dec ecx
            jnz .digest_word
            pop ecx
            inc ecx
            cmp ecx, 8
            jb .digest_page
            pop edi
            mov [edi], edx
            lea ecx, [edi + 4 - RES]
            mov esi, RES
            mov dx, 0xE9
            rep outsb
            jmp case_done

; exception stubs: vector and error code (0 where the CPU pushes none)
            align 16
stubs:
%assign v 0
%rep 32
%if v == 8 || (v >= 10 && v <= 14) || v == 17
            push dword v
            jmp near exc_common
%else
            push dword 0
            push dword v
            jmp near exc_common
%endif
            times stubs + (v + 1) * 16 - $ db 0x90
%assign v v + 1
%endrep
stub_size   equ 16

exc_common: mov si, 0x10
            mov ds, si
            mov es, si
            pop eax
            pop ecx
            mov edi, [CUR_SLOT]
            mov [edi], eax
            mov [edi + 4], ecx
            xor ebx, ebx
            cmp eax, 14
            jne .no_cr2
            mov ebx, cr2
.no_cr2:    mov [edi + 8], ebx
            mov esp, STACK0
            jmp [RESUME]

            align 8
gdt:        dq 0
            dq 0x00CF9B000000FFFF           ; 08 flat code, DPL 0
            dq 0x00CF93000000FFFF           ; 10 flat data, DPL 0
            dq 0x00CFFB000000FFFF           ; 18 flat code, DPL 3
            dq 0x00CFF3000000FFFF           ; 20 flat data, DPL 3
            dq 0x0000890018000067           ; 28 TSS at 0x1800
gdt_end:
gdtr_rom:   dw gdt_end - gdt - 1
            dd gdt

            times 0xFFF0 - ($ - $$) db 0xF4
            bits 16
reset:      jmp 0xF000:(start16 - 0xF0000)
            times 0x10000 - ($ - $$) db 0xF4
