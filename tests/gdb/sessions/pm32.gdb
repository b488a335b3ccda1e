# 32-bit protected mode on the bundled sample: stepi over the far jump, the i386 disassembly
# after `set architecture i386`, the TSS descriptor written by ltr, the window watch.
break *0x7c2c
continue
# expect: Breakpoint 1, 0x00007c2c
x/i $pc
# expect: => 0x7c2c:\s+ljmpl\s+\$0x8,\$0x7c34
stepi
# expect: the code at \$pc is now 32-bit
# expect: 0x00007c34 in
set architecture i386
x/2i $pc
# expect: => 0x7c34:\s+mov\s+\$0x10,%ax
# expect: 0x7c38:\s+mov\s+%eax,%ds
info registers cs cs_ar eip
# expect: ^cs +0x8
# expect: ^cs_ar +0xc09b
reverse-stepi
# expect: 0x00007c2c in
info registers cs eip
# expect: ^cs +0x0
# expect: ^eip +0x7c2c
watch *(unsigned char*)0x7c85
continue
# expect: Old value = 137
# expect: New value = 139
# expect: 0x00007c4e in
x/i $pc
# expect: => 0x7c4e:\s+mov\s+\$0x7c63,%esi
monitor vmx
# expect: ^vmx\[kvm\] valid
reverse-continue
# expect: 0x00007c4b in
x/i $pc
# expect: => 0x7c4b:\s+ltr\s+%ax
delete
monitor window-watch on
continue
# expect: window: the instruction at 0x7c4b makes the state VALID under kvm
continue
# expect: OK
# expect: isa-debug-exit wrote 0x10
detach
