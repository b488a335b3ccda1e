# 16-bit protected mode (corpus/cases/pm16_code_segment.asm, --preset intel): a D = 0 code
# segment based at 0x7c00. The pc is CS.base + EIP; ip is EIP; x/i still decodes 16-bit code.
break *0x7c12
continue
# expect: Breakpoint 1, 0x00007c12
x/i $pc
# expect: => 0x7c12:\s+ljmp\s+\$0x8,\$0x17
stepi
# expect: 0x00007c17 in
info registers eip ip cs cs_base cs_limit cs_ar
# expect: ^eip +0x7c17
# expect: ^ip +0x17
# expect: ^cs +0x8
# expect: ^cs_base +0x7c00
# expect: ^cs_ar +0x9b
x/i $pc
# expect: => 0x7c17:\s+mov\s+\$0x10,%ax
monitor vmx
# expect: ^vmx\[kvm\] INVALID +tr.type
watch *(unsigned char*)0x7c9d
continue
# expect: Old value = 129
# expect: New value = 131
# expect: 0x00007c3b in
reverse-stepi
# expect: 0x00007c38 in
x/i $pc
# expect: => 0x7c38:\s+ltr\s+%ax
reverse-continue
# expect: Breakpoint 1, 0x00007c12
delete
reverse-continue
# expect: No more reverse-execution history
# expect: 0x00007c00 in
info registers eip
# expect: ^eip +0x7c00
detach
