; multiboot-info.asm: a multiboot (version 1) kernel with the a.out-kludge header, loaded at
; 1 MiB, that prints on COM1 what its loader handed it: EAX, the MBI flags, mem_lower, the boot
; device, the command line, the loader's name, each module (start, end, command line, first
; bytes) and the size of the memory map. Paths print from their last '/' on, so that the
; console (and the instruction count) is the same in every build directory. mem_upper and the map's entries are left out:
; they follow the E820 map, where transit86's SeaBIOS tables and QEMU's differ (docs/boot.md).
; Booted by `transit86 boot --kernel` through QEMU's multiboot_dma.bin (corpus chain
; multiboot_info) and by qemu-system-i386 -kernel for the golden console.
bits 32
org 0x100000
MAGIC equ 0x1BADB002
FLAGS equ 0x00010003          ; page-align, memory info, a.out-kludge addresses
header:
  dd MAGIC, FLAGS, -(MAGIC+FLAGS)
  dd header, 0x100000, end_of_file, bss_end, start
start:
  mov esp, stack_top
  mov [magic], eax
  mov [mbi], ebx
  mov esi, s_magic
  call puts
  mov eax, [magic]
  call hex
  mov esi, s_flags
  call puts
  mov ebx, [mbi]
  mov eax, [ebx]
  call hex
  mov esi, s_mem
  call puts
  mov eax, [ebx+4]
  call hex
  mov esi, s_boot
  call puts
  mov eax, [ebx+12]
  call hex
  mov esi, s_cmd
  call puts
  mov esi, [ebx+16]
  call puts_base
  mov esi, s_name
  call puts
  mov esi, [ebx+64]
  call puts
  mov esi, s_mods
  call puts
  mov eax, [ebx+20]
  call hex
  mov ecx, [ebx+20]
  mov edi, [ebx+24]
.mod:
  test ecx, ecx
  jz .mmap
  mov esi, s_mod
  call puts
  mov eax, [edi]
  call hex
  mov al, '-'
  call putc
  mov eax, [edi+4]
  call hex
  mov al, ' '
  call putc
  mov esi, [edi+8]
  call puts_base
  mov al, ' '
  call putc
  mov esi, [edi]        ; the module's first bytes as text
  mov edx, 8
.mb: lodsb
  call putc
  dec edx
  jnz .mb
  add edi, 16
  dec ecx
  jmp .mod
.mmap:
  mov esi, s_mmap
  call puts
  mov eax, [ebx+44]
  call hex
.done:
  mov esi, s_end
  call puts
  cli
  hlt
; puts_base: the string at ESI from after its last '/'. Both scans are REP SCASB, one
; instruction each on transit86's clock however long the path: the chain's instruction count
; is the same in every build directory.
puts_base:
  push edi
  push ecx
  push eax
  call .find
  pop eax
  pop ecx
  pop edi
  jmp puts
.find:
  mov edi, esi
  xor eax, eax
  mov ecx, -1
  cld
  repne scasb              ; EDI past the terminating zero
  lea ecx, [edi-1]
  sub ecx, esi             ; the string's length
  jz .found
  lea edi, [esi+ecx-1]     ; its last character
  mov al, '/'
  std
  repne scasb              ; backwards to the last '/'
  cld
  jne .found               ; none: the whole string
  lea esi, [edi+2]
.found:
  ret
puts:
  lodsb
  test al, al
  jz .r
  call putc
  jmp puts
.r: ret
putc:
  push edx
  mov dx, 0x3F8
  out dx, al
  pop edx
  ret
hex:
  push ecx
  mov ecx, 8
.h: rol eax, 4
  push eax
  and al, 15
  add al, '0'
  cmp al, '9'
  jbe .d
  add al, 7
.d: call putc
  pop eax
  dec ecx
  jnz .h
  pop ecx
  ret
s_magic: db 13,10,"multiboot-info: eax ",0
s_flags: db 13,10,"multiboot-info: flags ",0
s_mem: db 13,10,"multiboot-info: mem_lower ",0
s_boot: db 13,10,"multiboot-info: boot device ",0
s_cmd: db 13,10,"multiboot-info: cmdline ",0
s_name: db 13,10,"multiboot-info: loader ",0
s_mods: db 13,10,"multiboot-info: modules ",0
s_mod: db 13,10,"multiboot-info: module ",0
s_mmap: db 13,10,"multiboot-info: mmap bytes ",0
s_end: db 13,10,"multiboot-info: end",13,10,0
end_of_file:
align 16
magic: dd 0
mbi: dd 0
times 4096 db 0
stack_top:
bss_end:
