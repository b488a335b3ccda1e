; bad_multiboot.asm: a multiboot header (a.out-kludge addresses) whose header_addr lies below
; its load_addr, which QEMU's -kernel refuses ("invalid load_addr address"): transit86 boot
; must say so in one line (badinput.boot_kernel_bad_multiboot).
bits 32
MAGIC equ 0x1BADB002
FLAGS equ 0x00010000
  dd MAGIC, FLAGS, -(MAGIC + FLAGS)
  dd 0x0FFFF0, 0x100000, 0, 0, 0x100000 ; header_addr < load_addr
  times 64 db 0x90
