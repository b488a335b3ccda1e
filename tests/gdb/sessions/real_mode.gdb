# Real mode on the bundled sample (corpus/boot/pe_entry.asm, --preset intel): the pc is the
# linear address, x/i decodes 16-bit code, a breakpoint at the mov cr0, the checks it breaks,
# and reverse-stepi back to the same registers.
x/i $pc
# expect: => 0x7c00:\s+cli
break *0x7c22
continue
# expect: Breakpoint 1, 0x00007c22
x/i $pc
# expect: => 0x7c22:\s+mov\s+%eax,%cr0
info registers eip ip cs cs_base cs_ar eflags
# expect: ^eip +0x7c22
# expect: ^ip +0x7c22
# expect: ^cs_ar +0x93
monitor vmx
# expect: ^vmx\[kvm\] valid
stepi
# expect: 0x00007c25 in
monitor vmx
# expect: ^vmx\[kvm\] INVALID +ss.rpl-eq-cs.rpl
# expect: cs.type +CS type 3
# expect: tr.type +TR access rights 0x82
reverse-stepi
# expect: 0x00007c22 in
info registers eip cr0
# expect: ^eip +0x7c22
# expect: ^cr0 +0x60000010
monitor vmx
# expect: ^vmx\[kvm\] valid
detach
