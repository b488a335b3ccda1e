# Unreal mode (corpus/cases/unreal_fast_a20.asm, --preset kvm): DS and ES keep a 4 GiB limit
# after PE goes back to 0. A watchpoint on the GDT entry the protected-mode load marks
# accessed, the checks unreal mode fails, and a 64 KiB a32 rep movsd: stepi runs one chunk of
# 1024 iterations (the pc stays on it), reverse-stepi returns to its start.
break *0x7c1c
continue
# expect: Breakpoint 1, 0x00007c1c
x/i $pc
# expect: => 0x7c1c:\s+mov\s+%eax,%cr0
watch *(unsigned char*)0x7ca5
continue
# expect: Hardware watchpoint 2: \*\(unsigned char\*\)0x7ca5
# expect: Old value = 146
# expect: New value = 147
# expect: 0x00007c24 in
delete 2
break *0x7c43
continue
# expect: Breakpoint 3, 0x00007c43
x/i $pc
# expect: => 0x7c43:\s+rep movsl %ds:\(%esi\),%es:\(%edi\)
monitor vmx
# expect: ^vmx\[kvm\] INVALID +rmode.ds.limit +DS limit 0xffffffff != 0xffff
monitor sregs
# expect: ^ds +=0000 00000000 ffffffff
stepi
# expect: 0x00007c43 in
info registers ecx
# expect: ^ecx +0x3c00
reverse-stepi
# expect: 0x00007c43 in
info registers ecx esi edi
# expect: ^ecx +0x4000
# expect: ^esi +0x0
# expect: ^edi +0x100000
detach
