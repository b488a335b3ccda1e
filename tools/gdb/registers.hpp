// GDB's view of a CpuState: the register numbering of the target description we send
// (qXfer:features:read target.xml) and each register's bytes. docs/gdb.md, "Registers".
//
// The core set is GDB's org.gnu.gdb.i386.core (eax..edi, eip, eflags, the six selectors, the
// x87 registers), which GDB's i386 architecture requires by name. `eip` there is GDB's $pc
// and holds the LINEAR address CS.base + EIP, so breakpoints, x/i $pc and stepping work on
// linear addresses in every mode; the offset itself is `ip`, first of the org.transit86.system
// feature, which also has the hidden segment caches, LDTR, TR, GDTR, IDTR, CR0-CR4 and EFER.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "transit86/cpu_state.hpp"

namespace transit86::gdb {

// GDB register numbers that the session needs by name.
inline constexpr size_t kRegEsp = 4;
inline constexpr size_t kRegPc = 8;

size_t register_count();
// Bytes of register n (n < register_count()).
size_t register_size(size_t n);
// The register's name in the target description.
std::string_view register_name(size_t n);

// Register n of `s` as GDB's 'g'/'p' packets carry it: little-endian, register_size(n) bytes.
std::string read_register(const CpuState& s, size_t n);
// Writes register n from its little-endian bytes (exactly register_size(n) of them). A
// selector written in real or virtual-8086 mode also sets the base (selector << 4), as a
// segment load there would; in protected mode only the selector changes (the hidden cache
// has its own registers). The x87 data registers are not modelled: writes are ignored.
// False when the size is wrong or n is out of range.
bool write_register(CpuState& s, size_t n, std::string_view bytes);

// The 'g' packet image of every register, and the inverse for 'G' (false on a size mismatch:
// the state is then unchanged).
std::string read_all_registers(const CpuState& s);
bool write_all_registers(CpuState& s, std::string_view bytes);

// The linear address of the next instruction: what GDB sees as $pc.
uint64_t linear_pc(const CpuState& s);

// The target description. `i8086` selects GDB's 16-bit disassembly (architecture i8086)
// instead of i386 (docs/gdb.md, "Disassembly and the mode"). Built once per flavour: GDB
// reads it in pieces, each a qXfer packet.
const std::string& target_xml(bool i8086);
// True when the code at CS:EIP is 16-bit: real mode, virtual-8086 mode, or a CS with D = 0.
bool code_is_16bit(const CpuState& s);

} // namespace transit86::gdb
