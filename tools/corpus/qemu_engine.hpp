// The `qemu` corpus oracle: a case single-stepped in qemu-system-i386 (TCG), driven through
// its gdbstub (docs/corpus-format.md, "Oracles"). QEMU 7.2's TCG walks page tables, sets
// accessed and dirty flags and delivers page faults, so it is the paging oracle where KVM is
// absent and Unicorn 2.0.1 identity-maps (docs/known-differences.md, "Paging").
//
// How it drives QEMU:
//   qemu-system-i386 -M pc -cpu pentium3,+nx -m 16 -S -gdb stdio -accel tcg -icount shift=0
//     -nodefaults -display none -no-reboot -debugcon file:... -serial file:...
//     -device isa-debug-exit,iobase=0xf4,iosize=4
// with the GDB remote protocol on its stdin/stdout (GdbRemoteClient). The image goes in with
// `M`; the start state with a stub run from the reset CS (LGDT, LIDT, A20 off through port 92,
// a far jump that keeps CS's 9BH cache), then `P` for the registers the gdbstub exposes. Each
// step is `s` (QEMU masks interrupts and timers while stepping), and the state after it is
// `info registers` through qRcmd (qemu_registers.hpp). The console bytes QEMU wrote to its
// debugcon and COM1 files are replayed into the driver's ports as OUTs; isa-debug-exit ends
// QEMU, and its exit status is replayed as the OUT to port 0xF4.
#pragma once

#include <memory>
#include <string>

#include "tools/corpus/corpus_engine.hpp"

namespace transit86::tools {

// The program the engine runs; nullopt-like empty string when it is not on PATH.
std::string find_qemu_system_i386();

} // namespace transit86::tools
