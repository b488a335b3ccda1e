# `transit86 boot --preset intel --gdb` on Debian's SeaBIOS alone: a breakpoint at the `mov cr0` of
# romlayout.S's transition32 (0xfd0b8 in the 1.16.2 image, found with
# `transit86 boot --trace window`), the verdict before and after it, reverse-stepi back to the
# same registers, the window watch across the 32-bit POST, and the census.
x/i $pc
# expect: => 0xfffffff0:\s+ljmp\s+\$0xf000,\$0xe05b
break *0xfd0b8
continue
# expect: Breakpoint 1, 0x000fd0b8
x/2i $pc
# expect: => 0xfd0b8:\s+mov\s+%ecx,%cr0
# expect: 0xfd0bb:\s+ljmpl\s+\$0x8,\$0xfd0c3
monitor vmx
# expect: ^vmx\[kvm\] valid
set $s_eax = $eax
set $s_ecx = $ecx
set $s_edx = $edx
set $s_esp = $esp
set $s_eflags = $eflags
set $s_cr0 = $cr0
set $s_cs_ar = $cs_ar
set $s_ss = $ss
stepi
# expect: 0x000fd0bb in
monitor vmx
# expect: ^vmx\[kvm\] INVALID +cs.type +CS type 3
# expect: ^ +tr.type +TR access rights 0x82
info registers cr0
# expect: ^cr0 +0x11
reverse-stepi
# expect: 0x000fd0b8 in
p $eip == 0xfd0b8 && $eax == $s_eax && $ecx == $s_ecx && $edx == $s_edx && $esp == $s_esp && $eflags == $s_eflags && $cr0 == $s_cr0 && $cs_ar == $s_cs_ar && $ss == $s_ss
# expect: ^\$1 = 1
delete
monitor window-watch on
# expect: window-watch on \(profile kvm; the state is valid now\)
continue
# expect: window: the instruction at 0xfd0b8 makes the state INVALID under kvm
continue
# expect: window: the instruction at 0xfd11d makes the state VALID under kvm
x/i $pc
# expect: => 0xfd11f:
monitor census
# expect: ^== window 1: 1 instruction #1..#1, ended: valid
# expect: ^== window 2: [0-9]+ instructions #25\.\.#[0-9]+, ended: valid
# expect: first #25 P16 f000:d0bb 0fd0bb  66 ea c3 d0 0f 00 08 00  jmp far 0x0008:0x000fd0c3
# expect: last  #[0-9]+ R16 f000:d11d 0fd11d  8e d1  mov ss, cx
# expect: ^== census \(kvm\): 2 windows
reverse-continue
# expect: window: the instruction at 0xfd11d makes the state VALID under kvm
reverse-continue
# expect: window: the instruction at 0xfd0b8 makes the state INVALID under kvm
monitor census
# expect: ^== census \(kvm\): 1 window, 1 instructions inside windows
monitor history
# expect: ^position 23
detach
