// Words for segment registers and descriptor types, shared by the check messages.
#pragma once

#include "transit86/cpu_state.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace transit86::vmx::detail {

// "CS", "SS", ...
std::string_view seg_name(Seg seg) noexcept;

// The descriptor type an access-rights value describes, read with its S bit (SDM Vol. 3A
// 3.4.5.1 and 3.5): "data, read/write, accessed", "code, execute/read, conforming",
// "busy 32-bit TSS", "LDT", ...
std::string type_name(uint32_t access_rights);

} // namespace transit86::vmx::detail
