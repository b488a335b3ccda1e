// Text pieces of the stepping trace: mode tags, the four-field segment form, descriptors.
#pragma once

#include <cstdint>
#include <string>

#include "transit86/cpu_state.hpp"

namespace transit86::tools {

// R16 real, U16 unreal (a real-mode cache with a limit above 64 KiB), R32/U32 real mode with
// a 32-bit CS cache ("big real"), P16/P32 protected mode by CS.D, V86.
std::string mode_tag(const CpuState& s);

// The four-field form of QEMU's register dump: selector, base, limit, flags — where flags
// are the descriptor's high dword bits 8..23 (= VMCS access rights << 8), then in words.
// "0008 00000000 ffffffff 00c09b00  code exec/read accessed, 32-bit, 4K granular"
std::string segment_fields(const SegmentCache& seg);

// Access rights in words: "data read/write accessed, DPL 0", "busy 32-bit TSS", "unusable".
std::string describe_access_rights(uint32_t access_rights);

// One GDT/LDT entry in words, e.g. for the table LGDT loads.
std::string describe_descriptor(uint64_t raw);

} // namespace transit86::tools
