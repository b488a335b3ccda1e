#include "tools/corpus/qemu_engine.hpp"

#include <array>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <iterator>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "decoder/decoder.hpp"
#include "oracle/state_diff.hpp"
#include "tools/corpus/gdb_remote_client.hpp"
#include "tools/corpus/qemu_registers.hpp"

namespace transit86::tools {

namespace {

using std::chrono::milliseconds;

// Register numbers of QEMU 7.2's i386 gdbstub (gdb-xml/i386-32bit.xml, read back with
// qXfer:features:read): eax..edi 0-7, eip 8, eflags 9, cs ss ds es fs gs 10-15, fs_base 16,
// gs_base 17, k_gs_base 18, cr0 19, cr2 20, cr3 21, cr4 22, cr8 23, efer 24.
constexpr int kRegEip = 8, kRegCr0 = 19, kRegCr2 = 20, kRegCr3 = 21, kRegCr4 = 22, kRegEfer = 24;
constexpr std::array<int, kNumSegs> kRegSeg = {13, 10, 11, 12, 14, 15}; // indexed by Seg

// The start-up stub lives in the BIOS ROM under the reset CS (F000:FF00 = FFFFFF00H): the
// gdbstub writes ROM, and the BIOS never runs, so no case memory is borrowed.
constexpr uint64_t kStubLinear = 0xFFFFFF00;
constexpr uint16_t kStubOffset = 0xFF00;

constexpr milliseconds kStepTimeout{20000};
// Iterations of one REP instruction before the engine gives up (ECX up to 4 Gi would take
// hours through the gdbstub).
constexpr uint64_t kMaxRepeats = 1u << 20;
// HLT never completes a step (the vCPU sleeps with interrupts masked): wait this long, then
// interrupt and read the halted state.
constexpr milliseconds kHaltWait{300};

// The instruction at CS:EIP as the gdbstub reads it (through QEMU's own translation).
struct NextInstruction {
    decoder::Op op = decoder::Op::Invalid;
    size_t length = 0;
    bool repeated = false; // a REP / REPNE prefix
};

// Bytes a file has gained since `offset` was last advanced.
std::string read_new_bytes(const std::filesystem::path& file, size_t& offset) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return {};
    in.seekg(static_cast<std::streamoff>(offset));
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    offset += bytes.size();
    return bytes;
}

// The QEMU process and the files it writes, removed with it.
class QemuProcess {
  public:
    static std::unique_ptr<QemuProcess> start(const std::string& program, std::string& why) {
        auto p = std::unique_ptr<QemuProcess>(new QemuProcess());
        char dir[] = "/tmp/transit86-qemu-XXXXXX";
        if (!mkdtemp(dir)) {
            why = "cannot create a temporary folder";
            return nullptr;
        }
        p->dir_ = dir;
        int to_qemu[2], from_qemu[2];
        why = "cannot create its pipes";
        if (pipe2(to_qemu, O_CLOEXEC) != 0) return nullptr;
        if (pipe2(from_qemu, O_CLOEXEC) != 0) {
            close(to_qemu[0]);
            close(to_qemu[1]);
            return nullptr;
        }
        const std::vector<std::string> args = {
            program,        "-M",
            "pc",           "-cpu",
            "pentium3,+nx", "-m",
            "16",           "-S",
            "-gdb",         "stdio",
            "-accel",       "tcg",
            "-icount",      "shift=0",
            "-nodefaults",  "-display",
            "none",         "-no-reboot",
            "-debugcon",    "file:" + p->debugcon().string(),
            "-serial",      "file:" + p->com1().string(),
            "-device",      "isa-debug-exit,iobase=0xf4,iosize=4"};
        const std::string log = (p->dir_ / "stderr").string();
        const pid_t pid = fork();
        if (pid == 0) {
            dup2(to_qemu[0], 0);
            dup2(from_qemu[1], 1);
            const int err = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
            if (err >= 0) dup2(err, 2);
            std::vector<char*> argv;
            for (const std::string& a : args)
                argv.push_back(const_cast<char*>(a.c_str()));
            argv.push_back(nullptr);
            execv(program.c_str(), argv.data());
            _exit(127);
        }
        close(to_qemu[0]);
        close(from_qemu[1]);
        p->to_ = to_qemu[1];
        p->from_ = from_qemu[0];
        if (pid < 0) {
            why = "fork failed";
            return nullptr;
        }
        p->pid_ = pid;
        why.clear();
        return p;
    }

    ~QemuProcess() {
        if (to_ >= 0) close(to_);
        if (from_ >= 0) close(from_);
        if (pid_ > 0) {
            kill(pid_, SIGKILL);
            waitpid(pid_, nullptr, 0);
        }
        std::error_code ignored;
        if (!dir_.empty()) std::filesystem::remove_all(dir_, ignored);
    }

    // Waits for QEMU to end after the gdb connection closed; its exit status, or -1.
    int wait_exit() {
        int status = 0;
        for (int tries = 0; tries < 200; ++tries) {
            const pid_t done = waitpid(pid_, &status, WNOHANG);
            if (done == pid_) {
                pid_ = -1;
                return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
            }
            usleep(10000);
        }
        return -1;
    }

    // The first line QEMU printed on stderr, for an error message.
    std::string first_error_line() const {
        std::ifstream in(dir_ / "stderr");
        std::string line;
        std::getline(in, line);
        return line;
    }

    int to() const { return to_; }
    int from() const { return from_; }
    std::filesystem::path debugcon() const { return dir_ / "debugcon"; }
    std::filesystem::path com1() const { return dir_ / "com1"; }

  private:
    QemuProcess() = default;
    std::filesystem::path dir_;
    pid_t pid_ = -1;
    int to_ = -1, from_ = -1;
};

class QemuEngine final : public CaseEngine {
  public:
    static std::unique_ptr<QemuEngine> start(std::string& why) {
        const std::string program = find_qemu_system_i386();
        if (program.empty()) {
            why = "qemu-system-i386 is not installed (Debian package qemu-system-x86)";
            return nullptr;
        }
        // QEMU leaves when the guest ends it (isa-debug-exit, a triple fault with -no-reboot):
        // a write to its pipe must then fail with EPIPE, not kill transit86.
        std::signal(SIGPIPE, SIG_IGN);
        auto engine = std::unique_ptr<QemuEngine>(new QemuEngine());
        engine->qemu_ = QemuProcess::start(program, why);
        if (!engine->qemu_) return nullptr;
        engine->gdb_ =
            std::make_unique<GdbRemoteClient>(engine->qemu_->from(), engine->qemu_->to());
        GdbRemoteClient& gdb = *engine->gdb_;
        // Reading the target description is what makes QEMU's gdbstub accept `P`.
        if (!gdb.request("qSupported:xmlRegisters=i386") ||
            !gdb.request("qXfer:features:read:target.xml:0,ffff") || !gdb.request("?") ||
            !engine->refresh(why)) {
            if (why.empty()) why = "no answer on its gdbstub: " + engine->qemu_->first_error_line();
            return nullptr;
        }
        return engine;
    }

    const char* name() const override { return "qemu"; }

    bool load(uint64_t gpa, std::span<const uint8_t> bytes) override {
        // Paging is off at reset, so the gdbstub's linear addresses are physical here.
        return gpa + bytes.size() <= kRamSize && gdb_->write_memory(gpa, bytes);
    }

    void set_a20(bool enabled) override {
        if (!started_) a20_at_start_ = enabled; // later changes are QEMU's own (port 92, 8042)
    }

    bool set_state(const CpuState& want, std::string& error) override;
    EngineStep step(pc::PcPorts& ports) override;
    CpuState state() const override { return state_; }

  private:
    static constexpr uint64_t kRamSize = 16u << 20;

    QemuEngine() = default;
    bool refresh(std::string& why);
    bool run_stub(const CpuState& want, std::string& error);
    void replay_console(pc::PcPorts& ports);
    NextInstruction next_instruction();
    EngineStep qemu_ended(pc::PcPorts& ports, const CpuState& before, size_t out_length);

    std::unique_ptr<QemuProcess> qemu_;
    std::unique_ptr<GdbRemoteClient> gdb_;
    CpuState state_{};
    bool a20_at_start_ = true;
    bool started_ = false;
    size_t debugcon_seen_ = 0, com1_seen_ = 0;
};

bool QemuEngine::refresh(std::string& why) {
    const std::optional<std::string> text = gdb_->monitor("info registers");
    if (!text) {
        why = "info registers: no answer";
        return false;
    }
    const std::optional<QemuRegisters> regs = parse_info_registers(*text, why);
    if (!regs) return false;
    state_ = regs->state;
    // QEMU's LTR and task switch load TR's cache from the descriptor before marking it busy
    // (docs/known-differences.md, unicorn-tr-available); TR only ever holds a busy TSS
    // (SDM Vol. 3A 7.2.4, LTR), so the engine reports the type the processor holds.
    const uint32_t tr_type = state_.tr.access_rights & 0xF;
    if (!ar::unusable(state_.tr.access_rights) && (tr_type == 1 || tr_type == 9))
        state_.tr.access_rights |= 2;
    // QEMU's II flag does not say which shadow; step() names STI's.
    state_.interruptibility = regs->inhibit_irq ? interruptibility::BlockingByMovSs : 0;
    return true;
}

// LGDT, LIDT, A20 off, POPFD and a far jump to the case's CS:IP, run from the reset CS so
// that CS keeps the 9BH cache far jumps in real mode leave alone. EFLAGS comes by POPFD:
// the gdbstub's write of eflags leaves TCG's lazily computed arithmetic flags (CC_SRC/CC_OP)
// as they were, so `info registers` would OR stale ones in. The stack is SS F000H, whose base
// F0000H reaches the same ROM bytes through the ISA BIOS alias (FFF00H = FFFFFF00H).
bool QemuEngine::run_stub(const CpuState& want, std::string& error) {
    std::vector<uint8_t> stub;
    const uint16_t data = kStubOffset + 32;
    auto add = [&stub](std::initializer_list<uint8_t> bytes) { stub.insert(stub.end(), bytes); };
    // First to the same bytes through the alias below 1 MiB (CS base F0000H), where turning
    // A20 off does not move the next fetch.
    const uint16_t alias_ip = kStubOffset + 5;
    add({0xEA, uint8_t(alias_ip), uint8_t(alias_ip >> 8), 0x00, 0xF0}); // jmp far F000:FF05
    int instructions = 5;
    add({0x66, 0x2E, 0x0F, 0x01, 0x16, uint8_t(data), uint8_t(data >> 8)}); // o32 lgdt [cs:]
    add({0x66, 0x2E, 0x0F, 0x01, 0x1E, uint8_t(data + 6), uint8_t((data + 6) >> 8)}); // lidt
    if (!a20_at_start_) {
        add({0xB0, 0x00, 0xE6, 0x92}); // mov al, 0; out 92h, al: A20 gate off
        instructions += 2;
    }
    add({0x66, 0x9D}); // popfd
    const uint16_t cs = want[Seg::CS].selector;
    const auto ip = static_cast<uint16_t>(want.eip);
    add({0xEA, uint8_t(ip), uint8_t(ip >> 8), uint8_t(cs), uint8_t(cs >> 8)}); // jmp far
    stub.resize(32, 0x90);
    for (const DescriptorTableRegister& t : {want.gdtr, want.idtr})
        add({uint8_t(t.limit), uint8_t(t.limit >> 8), uint8_t(t.base), uint8_t(t.base >> 8),
             uint8_t(t.base >> 16), uint8_t(t.base >> 24)});
    const uint16_t flags_at = kStubOffset + static_cast<uint16_t>(stub.size());
    const uint32_t eflags = want.eflags;
    add({uint8_t(eflags), uint8_t(eflags >> 8), uint8_t(eflags >> 16), uint8_t(eflags >> 24)});
    if (!gdb_->write_memory(kStubLinear, stub) || !gdb_->write_register(kRegEip, kStubOffset) ||
        !gdb_->write_register(kRegSeg[static_cast<int>(Seg::SS)], 0xF000) ||
        !gdb_->write_register(static_cast<int>(Gpr::ESP), flags_at)) {
        error = "qemu: cannot place the start-up stub";
        return false;
    }
    for (int i = 0; i < instructions; ++i) {
        const auto reply = gdb_->request("s", kStepTimeout);
        if (!reply || (*reply)[0] != 'T') {
            error = "qemu: the start-up stub did not step";
            return false;
        }
    }
    return true;
}

bool QemuEngine::set_state(const CpuState& want, std::string& error) {
    started_ = true;
    if (want.protected_mode() || want.v86()) {
        error = "qemu: the engine starts from real mode only (CR0.PE = 0)";
        return false;
    }
    if (!run_stub(want, error)) return false;
    bool ok = true;
    // Control registers first: CR0 without PE only, so the selectors below load as in real
    // mode (the gdbstub reloads a selector's cache only when the selector changes: base
    // selector << 4, limit FFFFH, access rights 93H).
    ok = ok && gdb_->write_register(kRegCr4, want.cr4) && gdb_->write_register(kRegCr3, want.cr3);
    ok = ok && gdb_->write_register(kRegCr0, want.cr0) && gdb_->write_register(kRegCr2, want.cr2);
    ok = ok && gdb_->write_register(kRegEfer, want.efer);
    for (int i = 0; i < 8; ++i)
        ok = ok && gdb_->write_register(i, want.gpr[i]);
    ok = ok && gdb_->write_register(kRegEip, want.eip); // EFLAGS: the stub's POPFD
    for (int i = 0; i < kNumSegs; ++i) {
        const SegmentCache& seg = want.seg[i];
        // CS arrives from the stub's far jump with 9BH; a case asking for 93H (Unicorn's
        // import) gets the gdbstub's load, forced by changing the selector twice.
        if (i == static_cast<int>(Seg::CS) && seg.access_rights == 0x9B) continue;
        if (i == static_cast<int>(Seg::CS))
            ok = ok && gdb_->write_register(kRegSeg[i], seg.selector ^ 1u);
        ok = ok && gdb_->write_register(kRegSeg[i], seg.selector);
    }
    if (!ok) {
        error = "qemu: the gdbstub refused a register";
        return false;
    }
    if (!refresh(error)) return false;
    // What QEMU could not be given shows up here: a cache other than real mode's, LDTR/TR
    // other than the reset ones, debug registers, an interrupt shadow.
    const std::vector<std::string> diffs = oracle::diff_states(state_, want);
    if (!diffs.empty()) {
        error = fmt::format("qemu cannot start from this state: {} (ours = QEMU's)", diffs[0]);
        return false;
    }
    if (want.activity != ActivityState::Active) {
        error = "qemu: the start state must be active";
        return false;
    }
    return true;
}

NextInstruction QemuEngine::next_instruction() {
    std::array<uint8_t, 15> code{};
    const uint64_t linear = (state_[Seg::CS].base + state_.eip) & 0xFFFFFFFF;
    decoder::Insn insn{};
    const decoder::FetchMode mode{.protected_mode = state_.protected_mode(),
                                  .code32 = ar::db(state_[Seg::CS].access_rights),
                                  .v86 = state_.v86()};
    // The next page may be unmapped: then only the bytes up to the page's end.
    size_t available = code.size();
    if (!gdb_->read_memory(linear, code)) {
        available = std::min<size_t>(code.size(), 0x1000 - (linear & 0xFFF));
        if (!gdb_->read_memory(linear, std::span(code).first(available))) return {};
    }
    if (decoder::decode(code.data(), available, mode, insn) != decoder::DecodeStatus::Ok) return {};
    return {.op = insn.op,
            .length = insn.length,
            .repeated = (insn.prefixes & (decoder::prefix::Rep | decoder::prefix::Repne)) != 0};
}

void QemuEngine::replay_console(pc::PcPorts& ports) {
    auto replay = [&ports](const std::string& bytes, uint16_t port) {
        for (char c : bytes) {
            PortAccess out{.port = port, .size = 1, .is_in = false, .data = uint8_t(c)};
            ports.access(out);
        }
    };
    replay(read_new_bytes(qemu_->debugcon(), debugcon_seen_), 0xE9);
    replay(read_new_bytes(qemu_->com1(), com1_seen_), 0x3F8);
}

// QEMU ended during a step: isa-debug-exit calls exit((value << 1) | 1); -no-reboot turns a
// triple fault (or a reset through port 92 or the 8042) into exit(0). The OUT retired, and
// nothing but EIP changed; QEMU is gone, so the state is the one before plus the OUT's length.
EngineStep QemuEngine::qemu_ended(pc::PcPorts& ports, const CpuState& before, size_t out_length) {
    replay_console(ports);
    const int status = qemu_->wait_exit();
    if (status <= 0 || (status & 1) == 0 || out_length == 0)
        return {EngineStep::Kind::Stopped,
                fmt::format("qemu ended (exit status {}): a triple fault or reset", status)};
    PortAccess out{.port = 0xF4, .size = 1, .is_in = false, .data = uint32_t(status) >> 1};
    ports.access(out);
    state_ = before;
    state_.eip = static_cast<uint32_t>(before.eip + out_length);
    return {};
}

EngineStep QemuEngine::step(pc::PcPorts& ports) {
    const CpuState before = state_;
    const NextInstruction next = next_instruction();
    const bool hlt = next.op == decoder::Op::Hlt;
    // OUT (imm8 or DX): the instruction that can end QEMU, through isa-debug-exit.
    const size_t out_length = next.op == decoder::Op::Out ? next.length : 0;
    // QEMU's `s` runs one iteration of a REP string instruction (as TF does on silicon); the
    // corpus counts the whole instruction, as KVM's stepper and transit86 do: step on while
    // CS:EIP stays put.
    for (uint64_t iteration = 0;; ++iteration) {
        if (!gdb_->send("s")) return qemu_ended(ports, before, out_length);
        std::optional<std::string> reply = gdb_->wait_packet(hlt ? kHaltWait : kStepTimeout);
        if (!reply && !gdb_->eof() && hlt) {
            gdb_->interrupt();
            reply = gdb_->wait_packet(kStepTimeout);
        }
        if (!reply || (*reply)[0] == 'W' || (*reply)[0] == 'X') {
            if (gdb_->eof() || reply) return qemu_ended(ports, before, out_length);
            return {EngineStep::Kind::Stopped, "qemu: no stop reply after a step"};
        }
        std::string why;
        if (!refresh(why)) return {EngineStep::Kind::Stopped, "qemu: " + why};
        replay_console(ports);
        const bool same_place = state_.eip == before.eip &&
                                state_[Seg::CS].selector == before[Seg::CS].selector &&
                                state_.activity == ActivityState::Active;
        if (!next.repeated || !same_place) break;
        if (iteration >= kMaxRepeats)
            return {EngineStep::Kind::Stopped, "qemu: a REP instruction did not finish"};
    }
    if (state_.interruptibility != 0 && next.op == decoder::Op::Sti)
        state_.interruptibility = interruptibility::BlockingBySti;
    if (state_.activity == ActivityState::Hlt) return {EngineStep::Kind::Halted, {}};
    return {};
}

} // namespace

std::string find_qemu_system_i386() {
    const char* path = std::getenv("PATH");
    std::string_view dirs = path ? path : "/usr/bin:/bin";
    while (!dirs.empty()) {
        const size_t colon = std::min(dirs.find(':'), dirs.size());
        const std::filesystem::path candidate =
            std::filesystem::path(dirs.substr(0, colon)) / "qemu-system-i386";
        if (access(candidate.c_str(), X_OK) == 0) return candidate.string();
        dirs.remove_prefix(std::min(colon + 1, dirs.size()));
    }
    return {};
}

std::unique_ptr<CaseEngine> make_qemu_engine(std::string& why) {
    return QemuEngine::start(why);
}

} // namespace transit86::tools
