// The I/O permission check (SDM Vol. 1 19.5 "I/O Protection"; Vol. 3A 20.2.8.1 for
// virtual-8086 mode) stepped on transit86 and on two oracles: Unicorn 2 (QEMU's helper_check_io,
// unicorn_lockstep.hpp) and KVM's instruction emulator (emulator_io_permited / check_perm_in /
// check_perm_out, kvm_lockstep.hpp). Every case is one I/O instruction at CPL 3 (or CPL 0) in
// flat 32-bit protected mode, under a busy 32-bit TSS whose I/O permission bit map denies
// every port but the case's. After the instruction the oracles must agree with transit86 on
// whether it raised #GP(0) or did its port access (port, size, direction, data), and on the
// registers and memory — or the step falls under a named rule of docs/known-differences.md
// ("I/O permission bit map"), which the test counts and prints.
//
// The SDM's expectation for each case is written next to it and checked on transit86 first.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "oracle/kvm_lockstep.hpp"
#include "oracle/task_switch_scenarios.hpp"
#include "oracle/unicorn_lockstep.hpp"

namespace transit86 {
namespace {

using namespace oracle::scenario;

constexpr uint16_t kCode3 = 0x43, kData3 = 0x4B; // DPL-3 flat code (GDT 40) and data (48), RPL 3
constexpr uint32_t kTss = 0x3000;                // task A's TSS (selector kTssA)
constexpr uint16_t kMapBase = 0x68;              // I/O map base: right after the TSS fields
constexpr uint32_t kLimit = kMapBase + 0x80;     // ports 000-3FF and the byte past them
constexpr uint32_t kCodeAt = 0x1000, kGpHandler = 0x1600, kStack0 = 0x9000;
constexpr uint32_t kBuffer = 0x8000; // INS/OUTS memory operand, below the ring-3 ESP
constexpr uint8_t kGp = 13;
// The #GP frame a CPL 3 fault pushes on the ring-0 stack: EIP CS EFLAGS ESP SS + error code.
constexpr uint32_t kFrame = kStack0 - 24;

// What the SDM says the instruction does.
enum class Outcome { Gp0, Allowed };

struct IoCase {
    const char* name;
    std::vector<uint8_t> code;
    std::vector<uint16_t> allowed; // ports whose map bit is clear
    Outcome sdm;
    uint32_t edx = 0, ecx = 0;
    uint32_t iopl = 0;
    uint32_t cpl = 3;
    uint32_t tr_limit = kLimit;
    uint16_t map_base = kMapBase;
    // KVM's emulator checks only the first of the two map bytes against the TSS limit
    // (emulator_io_port_access_allowed: `io_bitmap_ptr + port/8 > desc_limit_scaled`), so it
    // lets this case's access through (rule kvm-io-map-limit).
    bool kvm_io_map_limit = false;
};

// The cases, each with the SDM's answer (Vol. 1 19.5, 19.5.1, 19.5.2; Vol. 2 IN, OUT, INS,
// OUTS "Protected Mode Exceptions": #GP(0) "If the CPL is greater than (has less privilege)
// the I/O privilege level (IOPL) and any of the corresponding I/O permission bits in TSS for
// the I/O port being accessed is 1").
const std::vector<IoCase>& cases() {
    static const std::vector<IoCase> all = {
        {"out 80h, al: bit clear", {0xE6, 0x80}, {0x80}, Outcome::Allowed},
        {"out 81h, al: bit set", {0xE6, 0x81}, {0x80}, Outcome::Gp0},
        // in ax, dx at 17H: bit 7 of map byte 2 and bit 0 of byte 3 (19.5.2: every bit of a
        // multi-byte access is checked).
        {"in ax, dx at 17h: 17h clear, 18h set", {0x66, 0xED}, {0x17}, Outcome::Gp0, 0x17},
        {"in ax, dx at 17h: both clear", {0x66, 0xED}, {0x17, 0x18}, Outcome::Allowed, 0x17},
        {"in eax, dx at 3Eh: 3Eh-41h clear",
         {0xED},
         {0x3E, 0x3F, 0x40, 0x41},
         Outcome::Allowed,
         0x3E},
        {"in eax, dx at 3Eh: 41h set", {0xED}, {0x3E, 0x3F, 0x40}, Outcome::Gp0, 0x3E},
        // out dx, ax at 3FFh: the last bit of the map and the first of the extra byte (all
        // ones, 19.5.2), which must be there.
        {"out dx, ax at 3FFh: 400h in the extra byte", {0x66, 0xEF}, {0x3FF}, Outcome::Gp0, 0x3FF},
        // Port 3F8h's byte is at TSS offset E7h; the processor reads E7h and E8h (19.5.2:
        // "the processor reads two bytes"), both must be within the limit.
        {"in al, dx at 3F8h: second byte E8h at the limit",
         {0xEC},
         {0x3F8},
         Outcome::Allowed,
         0x3F8},
        {"in al, dx at 3F8h: second byte E8h beyond limit E7h",
         {0xEC},
         {0x3F8},
         Outcome::Gp0,
         0x3F8,
         0,
         0,
         3,
         kLimit - 1,
         kMapBase,
         true},
        // 19.5.2: "If the I/O bit map base address is greater than or equal to the TSS segment
        // limit, there is no I/O permission map".
        {"in al, 0: map base FFFFh beyond the limit",
         {0xE4, 0x00},
         {0x00},
         Outcome::Gp0,
         0,
         0,
         0,
         3,
         kLimit,
         0xFFFF},
        // Vol. 2 INS/OUTS: the check is part of the instruction, before any iteration.
        {"rep outsb with ECX 0: port set", {0xF3, 0x6E}, {0x80}, Outcome::Gp0, 0x81, 0},
        {"rep outsb with ECX 0: port clear", {0xF3, 0x6E}, {0x81}, Outcome::Allowed, 0x81, 0},
        {"outsb: port clear", {0x6E}, {0x81}, Outcome::Allowed, 0x81},
        {"insb: port clear", {0x6C}, {0x60}, Outcome::Allowed, 0x60},
        {"insb: port set", {0x6C}, {0x61}, Outcome::Gp0, 0x60},
        // 19.5.1: CPL <= IOPL allows every port; the map is not looked at.
        {"out 81h, al at CPL 3 = IOPL", {0xE6, 0x81}, {}, Outcome::Allowed, 0, 0, 3},
        {"out 81h, al at CPL 0, IOPL 0", {0xE6, 0x81}, {}, Outcome::Allowed, 0, 0, 0, 0},
        {"out 81h, al at CPL 3 > IOPL 2", {0xE6, 0x81}, {}, Outcome::Gp0, 0, 0, 2},
    };
    return all;
}

// The guest every case runs in: task A's TSS with SS0:ESP0 = 10:9000 and an I/O map at 68H
// denying every port, DPL-3 flat code and data, IDT[13] a 32-bit interrupt gate to a NOP at
// 08:1600.
void io_guest(Guest& g, const IoCase& c) {
    g.flat_with_task_a();
    g.descriptor(kTssA, kTss, c.tr_limit, 0x8B, 0);
    g.descriptor(kCode3 & ~3, 0, 0xFFFFF, 0xFB, 0xC);
    g.descriptor(kData3 & ~3, 0, 0xFFFFF, 0xF3, 0xC);
    g.put32(kTss + 4, kStack0);
    g.put16(kTss + 8, kData);
    g.put16(kTss + 0x66, c.map_base);
    for (uint32_t i = 0; i <= 0x80; ++i)
        g.put(kTss + kMapBase + i, {0xFF});
    for (uint16_t port : c.allowed) {
        uint8_t& bits = g.ram()[kTss + kMapBase + port / 8];
        bits = static_cast<uint8_t>(bits & ~(1u << (port % 8)));
    }
    g.gate(kIdt + kGp * 8, kCode, kGpHandler, 0x8E);
    g.put(kGpHandler, {0x90}); // nop
    std::copy(c.code.begin(), c.code.end(), g.ram().begin() + kCodeAt);
    for (uint32_t i = 0; i < 4; ++i) // what OUTS reads
        g.put(kBuffer + i, {static_cast<uint8_t>(0x5A + i)});
}

// At CPL c.cpl (flat DPL-3 segments for CPL 3) with IOPL c.iopl, EDX, ECX, ESI = EDI = kBuffer.
CpuState io_start(const CpuState& reset, const IoCase& c) {
    CpuState s = ring0_start(reset, kCodeAt);
    s.tr.limit = c.tr_limit;
    s.eflags = flags::Fixed1 | c.iopl << 12;
    s[Gpr::EDX] = c.edx;
    s[Gpr::ECX] = c.ecx;
    s[Gpr::ESI] = s[Gpr::EDI] = kBuffer;
    if (c.cpl == 3) {
        for (auto& sc : s.seg)
            sc = SegmentCache{
                .base = 0, .limit = 0xFFFFFFFF, .access_rights = 0xC0F3, .selector = kData3};
        s[Seg::CS] = SegmentCache{
            .base = 0, .limit = 0xFFFFFFFF, .access_rights = 0xC0FB, .selector = kCode3};
    }
    return s;
}

// Unicorn cannot be given a CPL 3 state (loading SS with DPL 3 at CPL 0 fails in set_state),
// so its runs start at CPL 0 with the data segments already the DPL-3 ones and an IRETD to
// `cpl3` (which it compares as an ordinary step): the frame is on the ring-0 stack below ESP0.
constexpr uint32_t kIretAt = 0x1100;
CpuState through_iret(Guest& g, const CpuState& cpl3) {
    if (cpl3.cpl() == 0) return cpl3;
    const uint32_t frame[] = {cpl3.eip, cpl3[Seg::CS].selector, cpl3.eflags, cpl3[Gpr::ESP],
                              cpl3[Seg::SS].selector};
    for (uint32_t i = 0; i < 5; ++i)
        g.put32(kStack0 - 20 + 4 * i, frame[i]);
    g.put(kIretAt, {0xCF}); // iretd
    CpuState s = ring0_start(cpl3, kIretAt);
    for (Seg seg : {Seg::DS, Seg::ES, Seg::FS, Seg::GS})
        s[seg] = cpl3[seg];
    s.tr = cpl3.tr;
    s[Gpr::ESP] = kStack0 - 20;
    return s;
}

// Virtual-8086 mode (SDM Vol. 3A 20.2.8.1: IN, OUT, INS, OUTS consult the I/O permission bit
// map whatever IOPL is): the guest above with only port 80h allowed, and task_switch_scenarios'
// IRET frame into V86 at 0100:0020 with IOPL 3, where `out 80h, al ; out 81h, al` waits.
// Start at EIP 0x1000 (the IRETD) with ESP = kV86Frame.
void v86_guest(Guest& g) {
    io_guest(g, IoCase{.name = "v86", .code = {}, .allowed = {0x80}, .sdm = Outcome::Allowed});
    v86_entry(g);
    g.put(0x1020, {0xE6, 0x80, 0xE6, 0x81});
}
CpuState v86_start(const CpuState& reset) {
    CpuState s = ring0_start(reset, 0x1000);
    s.tr.limit = kLimit;
    s[Gpr::ESP] = kV86Frame;
    return s;
}

// The port access the case's instruction makes when the check lets it through: port, size,
// direction (none for a REP with ECX = 0).
struct Access {
    uint16_t port;
    uint8_t size;
    bool in;
};
std::optional<Access> permitted_access(const IoCase& c) {
    const auto opcode = std::find_if(c.code.begin(), c.code.end(),
                                     [](uint8_t b) { return b != 0x66 && b != 0xF3; });
    const bool rep = std::find(c.code.begin(), opcode, 0xF3) != opcode;
    if (rep && c.ecx == 0) return std::nullopt;
    const bool o16 = std::find(c.code.begin(), opcode, 0x66) != opcode;
    const uint8_t op = *opcode;
    const auto port = static_cast<uint16_t>(op == 0xE4 || op == 0xE6 ? opcode[1] : c.edx);
    const uint8_t size = (op & 1) == 0 ? 1 : o16 ? 2 : 4;
    return Access{port, size, op == 0xE4 || op == 0xE5 || op == 0xEC || op == 0xED || op == 0x6C};
}

// The accesses of a step are the case's instruction's, when permitted.
void expect_instruction_access(const IoCase& c, const std::vector<oracle::PortAccess>& io,
                               const char* who) {
    const std::optional<Access> want = permitted_access(c);
    ASSERT_EQ(io.size(), want ? 1u : 0u) << c.name << ": " << who;
    if (!want) return;
    EXPECT_EQ(io[0].port, want->port) << c.name << ": " << who;
    EXPECT_EQ(io[0].size, want->size) << c.name << ": " << who;
    EXPECT_EQ(io[0].in, want->in) << c.name << ": " << who;
}

class IoPermissionVsUnicorn : public testing::Test {
  protected:
    void SetUp() override {
        std::string error;
        uc = oracle::UnicornRunner::create({.memory_size = kRamSize}, &error);
        if (!uc) GTEST_SKIP() << "Unicorn is not available: " << error;
    }
    std::unique_ptr<oracle::UnicornRunner> uc;
};

TEST_F(IoPermissionVsUnicorn, BitMapCases) {
    int compared = 0;
    for (const IoCase& c : cases()) {
        SCOPED_TRACE(c.name);
        Guest g;
        io_guest(g, c);
        const CpuState start = io_start(reset_state(ResetPreset::Kvm), c);
        oracle::UnicornLockstep run(*uc, g.ram(), through_iret(g, start));
        if (start.cpl() == 3) run.step("iretd to CPL 3");
        if (c.sdm == Outcome::Gp0) {
            // Rule unicorn-no-io-check: Unicorn does the access without any check.
            const auto [e, theirs] = run.fault_unicorn_retires(c.name, kGp, "unicorn-no-io-check");
            EXPECT_TRUE(e.has_error_code && e.error_code == 0) << c.name << ": #GP(0)";
            expect_instruction_access(c, oracle::elements(theirs.io), "Unicorn");
            run.step("nop (#GP handler)");
        } else {
            run.step(c.name);
            expect_instruction_access(c, run.io(), "transit86");
        }
        std::cout << "[ tally    ] " << c.name << ": " << run.tally() << "\n";
        ++compared;
    }
    EXPECT_EQ(compared, static_cast<int>(cases().size()));
}

TEST_F(IoPermissionVsUnicorn, Virtual8086ModeUsesTheMapWhateverIopl) {
    Guest g;
    v86_guest(g);
    oracle::UnicornLockstep run(*uc, g.ram(), v86_start(reset_state(ResetPreset::Kvm)));
    run.step("iretd to virtual-8086 mode, IOPL 3");
    ASSERT_TRUE(run.state().v86());
    run.step("out 80h, al (V86): bit clear");
    ASSERT_EQ(run.io().size(), 1u);
    EXPECT_EQ(run.io()[0].port, 0x80);
    // Rule unicorn-no-io-check.
    const auto [e, theirs] =
        run.fault_unicorn_retires("out 81h, al (V86): bit set", kGp, "unicorn-no-io-check");
    EXPECT_TRUE(e.has_error_code && e.error_code == 0) << "#GP(0)";
    const auto unicorn_io = oracle::elements(theirs.io);
    ASSERT_EQ(unicorn_io.size(), 1u);
    EXPECT_EQ(unicorn_io[0].port, 0x81);
    EXPECT_FALSE(run.state().v86());
    EXPECT_EQ(run.state().eip, kGpHandler);
    run.step("nop (#GP handler)");
    std::cout << "[ tally    ] " << run.tally() << "\n";
}

class IoPermissionVsKvm : public testing::Test {
  protected:
    void SetUp() override {
        if (auto reason = oracle::KvmStepper::unavailable_reason()) GTEST_SKIP() << *reason;
        std::string error;
        kvm = oracle::KvmStepper::create({.memory_size = kRamSize}, &error);
        ASSERT_TRUE(kvm) << error;
    }
    std::unique_ptr<oracle::KvmStepper> kvm;
};

// transit86's #GP(0) frame from CPL 3 (SDM Vol. 3A 6.12.1, 6.13): error code 0, the faulting
// EIP and CS, then EFLAGS, ESP, SS.
void expect_ours_gp_frame(Guest& g, const char* what) {
    std::array<uint32_t, 6> ours{};
    std::memcpy(ours.data(), &g.ram()[kFrame], 24);
    EXPECT_EQ(ours[0], 0u) << what << ": error code";
    EXPECT_EQ(ours[1], kCodeAt) << what << ": the faulting EIP";
    EXPECT_EQ(ours[2], kCode3) << what << ": CS";
    EXPECT_EQ(ours[4], 0x8000u) << what << ": ESP";
    EXPECT_EQ(ours[5], kData3) << what << ": SS";
}

// The #GP frame on the ring-0 stack, transit86's against KVM's. KVM pushes EFLAGS with its own
// single-step TF set (kvm_stepper.hpp, "Exceptions"): that bit is the harness's, not compared.
void expect_same_frame(oracle::KvmLockstep& run, Guest& g, const char* what) {
    std::array<uint32_t, 6> theirs{};
    ASSERT_TRUE(run.read_theirs(kFrame, {reinterpret_cast<uint8_t*>(theirs.data()), 24}));
    std::array<uint32_t, 6> ours{};
    std::memcpy(ours.data(), &g.ram()[kFrame], 24);
    theirs[3] &= ~flags::TF; // error code, EIP, CS, EFLAGS, ESP, SS
    EXPECT_EQ(ours, theirs) << what << ": the #GP frame differs";
    expect_ours_gp_frame(g, what);
}

TEST_F(IoPermissionVsKvm, BitMapCases) {
    for (const IoCase& c : cases()) {
        SCOPED_TRACE(c.name);
        Guest g;
        io_guest(g, c);
        oracle::KvmLockstep run(*kvm, g.ram(), io_start(kvm->reset_state(), c), kGdt, kFrame);
        if (c.kvm_io_map_limit) {
            const auto [e, theirs] = run.fault_kvm_retires(c.name, kGp, "kvm-io-map-limit");
            EXPECT_TRUE(e.has_error_code && e.error_code == 0) << c.name << ": #GP(0)";
            expect_instruction_access(c, oracle::elements(theirs.io), "KVM");
            expect_ours_gp_frame(g, c.name);
        } else if (c.sdm == Outcome::Gp0) {
            const Exit e = run.step_fault(c.name, kGp);
            EXPECT_TRUE(e.has_error_code && e.error_code == 0) << c.name << ": #GP(0)";
            EXPECT_EQ(run.state().eip, kGpHandler + 1) << c.name;
            expect_same_frame(run, g, c.name);
        } else {
            run.step(c.name);
        }
        std::cout << "[ tally    ] " << c.name << ": " << run.tally() << "\n";
    }
}

TEST_F(IoPermissionVsKvm, Virtual8086ModeUsesTheMapWhateverIopl) {
    Guest g;
    v86_guest(g);
    oracle::KvmLockstep run(*kvm, g.ram(), v86_start(kvm->reset_state()), kGdt, kFrame);
    run.step("iretd to virtual-8086 mode, IOPL 3");
    ASSERT_TRUE(run.state().v86());
    if (!run.kvm_holds_state())
        GTEST_SKIP() << "rule kvm-no-vm86: KVM_SET_REGS drops EFLAGS.VM on this host, so the "
                        "V86 steps run on Unicorn only ("
                     << run.tally() << ")";
    run.step("out 80h, al (V86): bit clear");
    run.step_fault("out 81h, al (V86): bit set", kGp);
    std::cout << "[ tally    ] " << run.tally() << "\n";
}

} // namespace
} // namespace transit86
