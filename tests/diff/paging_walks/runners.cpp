// The two runs of a case table (runners.hpp). QEMU: one process per table, the harness as its
// BIOS, the table put in RAM by the generic loader, port 0xE9 to a file through -debugcon, the
// end through isa-debug-exit. transit86: an Emulator over the same physical map (RAM below the
// VGA hole and from 1 MiB to 64 MiB, the harness as ROM at 0xF0000 and 0xFFFF0000) from the
// reset state, with a port handler that collects port 0xE9 and stops at port 0xF4.
#include "diff/paging_walks/runners.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "diff/paging_walks/case_table.hpp"
#include "transit86/emulator.hpp"

extern char** environ;

namespace transit86::diff::paging {

namespace fs = std::filesystem;

std::vector<uint8_t> read_file_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

namespace {

bool write_file_bytes(const fs::path& path, std::span<const uint8_t> bytes) {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    return static_cast<bool>(out);
}

} // namespace

std::string find_qemu(const std::string& requested, std::string& why) {
    if (!requested.empty()) {
        if (access(requested.c_str(), X_OK) == 0) return requested;
        why = requested + " is not executable";
        return {};
    }
    const char* path = std::getenv("PATH");
    std::string dirs = path != nullptr ? path : "/usr/bin:/bin";
    size_t start = 0;
    while (start <= dirs.size()) {
        const size_t end = std::min(dirs.find(':', start), dirs.size());
        const fs::path candidate = fs::path(dirs.substr(start, end - start)) / "qemu-system-i386";
        if (access(candidate.c_str(), X_OK) == 0) return candidate.string();
        start = end + 1;
    }
    why = "qemu-system-i386 not found in PATH";
    return {};
}

RunOutput run_on_qemu(const std::string& qemu, std::span<const uint8_t> harness,
                      std::span<const uint8_t> table, unsigned timeout_seconds) {
    RunOutput out;
    char dir_template[] = "/tmp/transit86-paging-XXXXXX";
    if (mkdtemp(dir_template) == nullptr) return out.error = "mkdtemp failed", out;
    const fs::path dir = dir_template;
    const fs::path bios = dir / "harness.bin", cases = dir / "cases.bin", con = dir / "debugcon",
                   log = dir / "stderr";
    if (!write_file_bytes(bios, harness) || !write_file_bytes(cases, table)) {
        fs::remove_all(dir);
        return out.error = "cannot write the QEMU inputs", out;
    }
    const std::vector<std::string> args = {
        qemu,
        "-M",
        "pc",
        "-cpu",
        kQemuCpu,
        "-m",
        "64",
        "-accel",
        "tcg",
        "-nodefaults",
        "-display",
        "none",
        "-no-reboot",
        "-bios",
        bios.string(),
        "-debugcon",
        "file:" + con.string(),
        "-device",
        "isa-debug-exit,iobase=0xf4,iosize=4",
        "-device",
        fmt::format("loader,file={},addr={:#x},force-raw=on", cases.string(), kCaseTable)};
    std::vector<char*> argv;
    for (const auto& a : args)
        argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 2, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    pid_t pid = 0;
    const int rc = posix_spawn(&pid, qemu.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
        fs::remove_all(dir);
        return out.error = fmt::format("cannot start {}: error {}", qemu, rc), out;
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
    int status = 0;
    for (;;) {
        const pid_t done = waitpid(pid, &status, WNOHANG);
        if (done == pid) break;
        if (std::chrono::steady_clock::now() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            out.error = fmt::format("QEMU did not finish within {} s", timeout_seconds);
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    out.stream = read_file_bytes(con.string());
    // isa-debug-exit: the process exits with (value << 1) | 1; the harness writes 0.
    if (out.error.empty() && !(WIFEXITED(status) && WEXITSTATUS(status) == 1)) {
        const auto text = read_file_bytes(log.string());
        out.error = fmt::format("QEMU ended with status {:#x}: {}", status,
                                std::string(text.begin(), text.end()));
    }
    out.ok = out.error.empty();
    fs::remove_all(dir);
    return out;
}

namespace {

class HarnessPorts final : public PortHandler {
  public:
    std::vector<uint8_t>& stream;
    bool ended = false;
    explicit HarnessPorts(std::vector<uint8_t>& s) : stream(s) {}
    Result access(PortAccess& a) override {
        if (a.is_in) {
            a.data = 0xFFFFFFFFu; // nothing is decoded there on the QEMU machine either
            return Result::Handled;
        }
        if (a.port == 0xE9) stream.push_back(static_cast<uint8_t>(a.data));
        if (a.port == 0xF4) return ended = true, Result::ExitToHost;
        return Result::Handled;
    }
};

} // namespace

RunOutput run_on_transit86(std::span<const uint8_t> harness, std::span<const uint8_t> table) {
    RunOutput out;
    if (harness.size() != 0x10000) return out.error = "the harness is not 64 KiB", out;
    if (kCaseTable + table.size() > kGuestRamBytes) return out.error = "table too large", out;
    std::vector<uint8_t> low(0xA0000), high(kGuestRamBytes - 0x100000);
    std::vector<uint8_t> rom(harness.begin(), harness.end());
    std::copy(table.begin(), table.end(), high.begin() + (kCaseTable - 0x100000));
    const RamSlot slots[] = {
        {0, low.size(), low.data(), false},
        {0xF0000, rom.size(), rom.data(), true},
        {0x100000, high.size(), high.data(), false},
        {0xFFFF0000ull, rom.size(), rom.data(), true},
    };
    HarnessPorts ports(out.stream);
    Emulator emu(slots, &ports);
    emu.state() = reset_state(ResetPreset::Intel);
    RunLimits limits;
    limits.budget = 100'000'000;
    limits.stop_when_valid.reset();
    // A case takes well under a million instructions; a guest gone astray stops here.
    uint64_t runs_left = 2 + table.size() / kCaseSize / 50;
    for (;;) {
        const Exit exit = emu.run(limits);
        if (exit.reason == ExitReason::Budget && --runs_left > 0) continue;
        if (exit.reason == ExitReason::Io && ports.ended) break;
        out.error = fmt::format("transit86 stopped: {} at {:#x}{}{}", to_string(exit.reason),
                                exit.linear_address, exit.detail ? ": " : "",
                                exit.detail ? exit.detail : "");
        if (exit.reason == ExitReason::Mmio)
            out.error += fmt::format(" (physical {:#x})", exit.mmio_address);
        return out;
    }
    out.ok = true;
    return out;
}

} // namespace transit86::diff::paging
