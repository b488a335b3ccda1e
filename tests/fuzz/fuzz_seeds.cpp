// fuzz_seeds CASES_DIR BOOT_IMAGE OUT_DIR: writes the seed corpus of every fuzz target from
// the scenario corpus (corpus/cases, sources assembled with nasm) and the bundled boot sample,
// one folder per target under OUT_DIR. Run by the build.
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "execute_input.hpp"
#include "platform_script.hpp"
#include "tools/corpus/corpus_case.hpp"
#include "tools/formats/state_json.hpp"

namespace {

using namespace transit86;
namespace fs = std::filesystem;

std::vector<uint8_t> slurp(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write(const fs::path& path, std::span<const uint8_t> bytes) {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
}

void write(const fs::path& path, const std::string& text) {
    write(path, std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

// A CLI seed: the words, a NUL, then the file the command reads.
std::vector<uint8_t> cli_seed(const std::vector<std::string>& words,
                              std::span<const uint8_t> file) {
    std::vector<uint8_t> out;
    for (size_t i = 0; i < words.size(); ++i) {
        if (i) out.push_back('\n');
        out.insert(out.end(), words[i].begin(), words[i].end());
    }
    out.push_back(0);
    out.insert(out.end(), file.begin(), file.end());
    return out;
}

void case_seeds(const fs::path& file, const fs::path& out) {
    const std::string name = file.stem().string();
    write(out / "corpus_case" / (name + ".json"), slurp(file));
    fs::path golden = file;
    golden.replace_extension(".golden");
    if (fs::exists(golden)) {
        const auto bytes = slurp(golden);
        write(out / "corpus_case" / (name + ".golden"), bytes);
        const auto doc = nlohmann::json::parse(bytes.begin(), bytes.end());
        write(out / "state_json" / (name + ".final.json"), doc["final"].dump(1));
    }
    const tools::CorpusCase c = tools::load_case(file);
    write(out / "state_json" / (name + ".start.json"), tools::state_to_json(c.start).dump(1));

    fuzz::ExecuteInput in;
    in.state = c.start;
    in.code = c.image;
    in.code_address = static_cast<uint32_t>(c.load_address);
    in.a20 = c.a20;
    in.ports = 2; // PcPorts, as the corpus runs
    in.stop_when_valid = 0;
    write(out / "execute" / (name + ".bin"), fuzz::encode_execute_input(in));
    in.single_step = true;
    in.vcpu_path = true;
    in.exceptions_to_host = true;
    in.ports = 0;
    in.stop_when_valid = 1;
    write(out / "execute" / (name + ".vcpu.bin"), fuzz::encode_execute_input(in));

    const std::string load = fmt::format("{:#x}", c.load_address);
    write(out / "cli" / (name + ".step"),
          cli_seed({"step", name + ".bin", "--load-address", load, "--preset", "kvm", "--json"},
                   c.image));
}

// A state already under 32-bit paging: flat 32-bit code, CR3 at the data bytes, which hold a page
// directory whose PDE 0 identity-maps the first 4 MiB with a 4-MByte page (CR4.PSE); the code
// loads, stores and pushes through it. The fuzzer mutates the tables and control registers.
void paged_seed(const fs::path& out) {
    static const uint64_t gdt[] = {0, 0x00CF9B000000FFFF, 0x00CF93000000FFFF};
    static const uint8_t code[] = {0xA1, 0x00, 0x30, 0x00, 0x00,             // mov eax, [0x3000]
                                   0xA3, 0x04, 0x30, 0x00, 0x00,             // mov [0x3004], eax
                                   0x50,                                     // push eax
                                   0x0F, 0x01, 0x3D, 0x00, 0x30, 0x00, 0x00, // invlpg [0x3000]
                                   0xF4};                                    // hlt
    std::vector<uint8_t> data(0x1000 + sizeof gdt);
    const uint32_t pde = 0x83; // present, writable, 4 MiB at 0
    std::memcpy(data.data(), &pde, 4);
    std::memcpy(data.data() + 0x1000, gdt, sizeof gdt);
    fuzz::ExecuteInput in;
    CpuState& s = in.state;
    s = reset_state(ResetPreset::Kvm);
    s.cr0 |= cr0::PE | cr0::PG;
    s.cr4 |= cr4::PSE;
    s.cr3 = 0x10000;
    s.gdtr = {.base = 0x11000, .limit = sizeof gdt - 1};
    s[Seg::CS] = {.base = 0, .limit = 0xFFFFFFFF, .access_rights = 0xC09B, .selector = 0x08};
    for (Seg seg : {Seg::SS, Seg::DS, Seg::ES, Seg::FS, Seg::GS})
        s[seg] = {.base = 0, .limit = 0xFFFFFFFF, .access_rights = 0xC093, .selector = 0x10};
    s.eip = 0x1000;
    s[Gpr::ESP] = 0x8000;
    in.code = code;
    in.code_address = 0x1000;
    in.data = data;
    in.data_address = 0x10000;
    in.ports = 2;
    write(out / "execute" / "paged_flat32.bin", fuzz::encode_execute_input(in));
}

void cli_seeds(const fs::path& boot_image, const fs::path& out) {
    const auto image = slurp(boot_image);
    const std::vector<std::vector<std::string>> lines = {
        {"step", "pe_entry.bin"},
        {"step", "pe_entry.bin", "--preset", "intel", "--profile", "sdm", "--stop-at", "halt"},
        {"step", "pe_entry.bin", "--start", "07c0:0000", "--memory", "1", "--a20-off"},
        {"step", "pe_entry.bin", "--load-address", "0x10000", "--budget", "0", "--kvm-fixup"},
        {"step", "pe_entry.bin", "--hlt-resume", "--stop-at", "budget", "--budget", "20"},
        {"check", "-", "--profile", "unrestricted", "--json", "--compare", "--kvm-fixup"},
        {"sst", "a.json.gz", "-v", "--show", "2", "--min-pass-rate", "99.5", "--index", "7"},
        {"sst", "dir", "--strict", "--skip-if-missing", "--json"},
        {"corpus", "run", "corpus/cases", "--filter", "a20", "-v"},
        {"corpus", "rebase", "--oracle", "kvm", "--refresh-verdicts"},
        {"explain", "-", "--no-unrestricted", "--cr4-fixed1", "0x3727ff", "--maxphyaddr", "39"},
        {"boot", "--disk", "d.img", "--expect", "grub> ", "--send", "echo \\x41\\e[B\\r",
         "--expect", "a", "--expect", "b", "--send", "\\\\", "--send-gap", "0", "--boot", "dca"},
        {"--help"},
        {"step", "--help"},
    };
    for (size_t i = 0; i < lines.size(); ++i)
        write(out / "cli" / fmt::format("line{:02}", i), cli_seed(lines[i], image));
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 4) {
        fmt::print(stderr, "usage: fuzz_seeds CASES_DIR BOOT_IMAGE OUT_DIR\n");
        return 2;
    }
    const fs::path out = argv[3];
    for (const char* target : {"execute", "state_json", "corpus_case", "cli", "platform"})
        fs::create_directories(out / target);
    try {
        for (const fs::path& file : tools::find_cases(argv[1]))
            case_seeds(file, out);
        cli_seeds(argv[2], out);
        paged_seed(out);
        for (const auto& [name, script] : fuzz::platform_seed_scripts())
            write(out / "platform" / (name + ".bin"), script);
    } catch (const std::exception& e) {
        fmt::print(stderr, "fuzz_seeds: {}\n", e.what());
        return 1;
    }
    return 0;
}
