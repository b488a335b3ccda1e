// Running a case table through the guest harness on qemu-system-i386 (TCG) and on transit86,
// each giving the bytes the harness wrote to port 0xE9 (docs/differential.md, "Random page
// tables against QEMU").
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace transit86::diff::paging {

// The QEMU command line's CPU: PSE, PAE, PGE and, with +nx, EFER.NXE writable — what transit86's
// default CpuModel reports. (QEMU's 32-bit walk applies PSE-36 whatever CPUID says:
// qemu-maxphyaddr-40.)
inline constexpr const char* kQemuCpu = "pentium3,+nx";
inline constexpr const char* kOracleName = "qemu-system-i386 7.2 TCG";

struct RunOutput {
    bool ok = false;
    std::string error;
    std::vector<uint8_t> stream; // port 0xE9
};

// Empty when qemu-system-i386 cannot be found (`why` says so).
std::string find_qemu(const std::string& requested, std::string& why);

RunOutput run_on_qemu(const std::string& qemu, std::span<const uint8_t> harness,
                      std::span<const uint8_t> table, unsigned timeout_seconds);

RunOutput run_on_transit86(std::span<const uint8_t> harness, std::span<const uint8_t> table);

std::vector<uint8_t> read_file_bytes(const std::string& path);

} // namespace transit86::diff::paging
