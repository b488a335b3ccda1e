// SingleStepTests test vectors (github.com/singlesteptests, syntax version 2) as transit86
// reads them: the test files, the per-opcode metadata.json and revocation_list.txt.
// The format is described in ../shared/data/sst80286/README.md.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace transit86::tools::sst {

// Thrown for a file that cannot be read or parsed; what() is one line.
struct SstFormatError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// The 80286 register file in the tests' key order.
enum class Reg : uint8_t { AX, BX, CX, DX, CS, SS, DS, ES, SP, BP, SI, DI, IP, FLAGS };
inline constexpr int kNumRegs = 14;
inline constexpr std::array<const char*, kNumRegs> kRegNames = {
    "ax", "bx", "cx", "dx", "cs", "ss", "ds", "es", "sp", "bp", "si", "di", "ip", "flags"};

using RegValues = std::array<std::optional<uint16_t>, kNumRegs>;
using RamBytes = std::vector<std::pair<uint32_t, uint8_t>>; // physical address, byte

struct TestException {
    uint8_t number = 0;
    uint32_t flag_address = 0; // physical address of the FLAGS word the delivery pushed
};

struct Test {
    uint32_t idx = 0;
    std::string name;
    std::vector<uint8_t> bytes; // the instruction followed by the HLT (F4) the harness added
    RegValues initial{};        // every register
    RamBytes initial_ram;
    RegValues final{}; // only the registers that changed
    RamBytes final_ram;
    std::optional<TestException> exception;
    std::string hash;
};

// Reads every test of a file: *.json / *.json.gz hold one JSON array, *.jsonl / *.jsonl.gz
// one test a line. gzip is detected by content (zlib reads plain files unchanged).
std::vector<Test> read_test_file(const std::filesystem::path& file);

// True for the names read_test_file accepts (metadata.json excluded).
bool is_test_file_name(const std::string& name);

// What metadata.json says about one opcode, or one reg field of a group opcode.
struct OpcodeInfo {
    std::string status = "unknown"; // normal, alias, undocumented, undefined, prefix, fpu, ...
    uint16_t flags_mask = 0xFFFF;   // AND-ed with both flag words before comparing
    std::string undefined_flags;    // e.g. "o....a.c"; empty when every flag is defined
};

// "F6.6.jsonl.gz" -> {"F6", 6}; "00.jsonl.gz" -> {"00", nullopt}.
struct FileOpcode {
    std::string key; // metadata key: the opcode in hex, upper case ("F6", "0F01")
    std::optional<uint8_t> reg;
};
FileOpcode file_opcode(const std::string& file_name);

class Metadata {
  public:
    Metadata() = default;
    // Loads metadata.json; throws SstFormatError.
    static Metadata load(const std::filesystem::path& file);

    // The entry for an opcode; for a group opcode whose file does not name the reg field,
    // `modrm_reg` (from the test's ModRM byte) selects it. Unknown opcodes get the default.
    OpcodeInfo lookup(const FileOpcode& opcode, std::optional<uint8_t> modrm_reg) const;
    bool empty() const { return plain_.empty() && groups_.empty(); }

  private:
    std::map<std::string, OpcodeInfo> plain_;
    std::map<std::string, std::map<uint8_t, OpcodeInfo>> groups_;
};

// Hashes listed in revocation_list.txt ('#' starts a comment line).
std::set<std::string> load_revocation_list(const std::filesystem::path& file);

// The ModRM reg field of the instruction in `bytes` for an opcode of `key_bytes` bytes
// (after any prefixes); nullopt when the bytes end first.
std::optional<uint8_t> modrm_reg_field(const std::vector<uint8_t>& bytes, size_t key_bytes);
// How many prefix bytes (the 80286's: 26 2E 36 3E F0 F1 F2 F3) start `bytes`.
size_t prefix_length(const std::vector<uint8_t>& bytes);
// The first opcode byte after the prefixes.
std::optional<uint8_t> primary_opcode(const std::vector<uint8_t>& bytes);

} // namespace transit86::tools::sst
