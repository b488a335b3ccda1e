// transit86 and Unicorn 2 (QEMU TCG) stepped in lockstep over one guest, for the oracle tests
// (task_switch_vs_unicorn_test.cpp, io_permission_vs_oracles_test.cpp). After every
// instruction both must agree on the general registers, EIP, EFLAGS, the selectors and segment
// caches, TR, LDTR, GDTR, IDTR, CR0-CR4, the port I/O done and all of guest RAM — or the step
// falls under a named rule of docs/known-differences.md; tally() says how many steps each rule
// covered.
//
// Unicorn never delivers an interrupt or exception through the IDT: its UC_HOOK_INTR hook
// gets the vector and nothing is pushed (unicorn_runner.hpp). For those steps (rule
// unicorn-no-delivery) fault() and software_interrupt() compare what Unicorn does say — the
// vector and the state at the faulting instruction, or after INT n — then give Unicorn
// transit86's memory and delivered state; the caller checks the delivery against the SDM.
// unicorn_traps() and step_masking_flags() do the same for instructions Unicorn runs without
// an extension the SDM defines (vme_vs_unicorn_test.cpp). States set_state() cannot load —
// virtual-8086 mode, CPL 3 — are given through an IRETD at ring 0 (IretReentry).
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "oracle/port_recorder.hpp"
#include "oracle/state_diff.hpp"
#include "oracle/unicorn_runner.hpp"
#include "transit86/emulator.hpp"

namespace transit86::oracle {

// Rules for steps Unicorn 2.0.1 takes differently from the SDM (docs/known-differences.md).
enum class UnicornRule {
    None,
    // unicorn-tss16-layout: QEMU reads and writes the selectors of a 16-bit TSS at 22H + 4i
    // instead of 22H + 2i (SDM Vol. 3A Figure 7-10: ES 22H, CS 24H, SS 26H, DS 28H): a switch
    // into a 16-bit TSS takes the SS slot for CS and faults with #TS. Not compared: Unicorn
    // must report that #TS, and is then given transit86's state.
    Tss16Load,
    // unicorn-tss16-layout, leaving a 16-bit task: QEMU saves the old task in the format of the
    // *new* TSS (seg_helper.c switch_tss: `if (type & 8)`), so a 32-bit image lands in the 16-bit
    // TSS. The state and the rest of memory are compared; the old TSS must hold QEMU's image.
    Tss16Save,
    // unicorn-debug-reserved-bits: a MOV to DR6 or DR7 ORs in the bits fixed at 1 but keeps
    // the ones the SDM fixes at 0 (DR6 bit 12; DR7 bits 11, 12, 14, 15; bpt_helper.c
    // helper_set_dr). Compared after giving Unicorn's DR6/DR7 those zeros.
    DebugReservedBits,
};

// How resync() gives Unicorn a state its set_state() cannot load (virtual-8086 mode, CPL 3):
// Unicorn starts at ring 0 on the guest's flat `code` and `data` selectors and runs an IRETD
// whose frame and opcode are written at `scratch` (48 bytes; Unicorn's copy of them is then
// restored from transit86's RAM). VIF and VIP, which QEMU's IRET to an outer level does not
// load, are given in the ring-0 EFLAGS and kept by the IRETD.
struct IretReentry {
    uint16_t code = 0;
    uint16_t data = 0;
    uint32_t scratch = 0;
};

class UnicornLockstep {
  public:
    UnicornLockstep(UnicornRunner& uc, std::vector<uint8_t>& ram, const CpuState& start)
        : uc_(uc), ram_(ram), slot_{.guest_phys = 0, .size = ram.size(), .host = ram.data()},
          emu_({&slot_, 1}, &ports_) {
        uc_.set_port_input(lockstep_port_input);
        emu_.state() = start;
        resync();
    }
    CpuState& state() { return emu_.state(); }
    // Lets resync() reach virtual-8086 mode and CPL 3 (off by default).
    void set_reentry(const IretReentry& reentry) { reentry_ = reentry; }
    std::string tally() const {
        std::string out = std::to_string(compared_) + " steps compared with Unicorn";
        for (const auto& [rule, count] : masked_)
            out += " (" + rule + " masked in " + std::to_string(count) + ")";
        for (const auto& [rule, count] : ruled_)
            out += ", " + std::to_string(count) + " under " + rule;
        return out;
    }
    // The port accesses transit86 made in the last step.
    const std::vector<PortAccess>& io() const { return io_; }

    // One instruction both retire (with the same port I/O, if any).
    void step(const char* what, UnicornRule rule = UnicornRule::None, uint32_t old_tss = 0) {
        const Exit ours = emu_.run(limits(false));
        io_ = ports_.take();
        ASSERT_EQ(ours.reason, ExitReason::Step)
            << what << ": " << to_string(ours.reason) << " " << (ours.detail ? ours.detail : "");
        const UnicornStepResult theirs = uc_.step();
        if (rule == UnicornRule::Tss16Load) {
            EXPECT_EQ(theirs.reason, UnicornStepReason::Exception) << what;
            EXPECT_EQ(theirs.vector, 10) << what << ": Unicorn, #TS expected";
            ++ruled_["unicorn-tss16-layout"];
            resync();
            return;
        }
        ASSERT_TRUE(theirs.reason == UnicornStepReason::Step ||
                    theirs.reason == UnicornStepReason::Io)
            << what << ": Unicorn " << to_string(theirs.reason) << " vector " << int{theirs.vector}
            << " " << theirs.error_text;
        EXPECT_EQ(io_, elements(theirs.io)) << what << ": port I/O differs";
        if (rule == UnicornRule::Tss16Save) {
            // QEMU's 32-bit image holds the next EIP at 20H where transit86's 16-bit image has
            // it at 0EH; the old TSS is not compared further.
            uint32_t eip = 0;
            ASSERT_TRUE(uc_.read(old_tss + 0x20, {reinterpret_cast<uint8_t*>(&eip), 4}));
            uint32_t ours_eip = 0;
            std::memcpy(&ours_eip, &ram_[old_tss + 0x0E], 4);
            EXPECT_EQ(eip, ours_eip & 0xFFFF) << what;
            ASSERT_TRUE(uc_.load(old_tss, {ram_.data() + old_tss, 0x68}));
            ++masked_["unicorn-tss16-layout"];
        }
        CpuState theirs_state = theirs.state;
        if (rule == UnicornRule::DebugReservedBits) {
            const uint32_t dr6 = dr6::with_fixed_bits(theirs_state.dr6);
            const uint32_t dr7 = dr7::with_fixed_bits(theirs_state.dr7);
            EXPECT_TRUE(dr6 != theirs_state.dr6 || dr7 != theirs_state.dr7)
                << what << ": the rule masks nothing";
            theirs_state.dr6 = dr6;
            theirs_state.dr7 = dr7;
            ++masked_["unicorn-debug-reserved-bits"];
        }
        compare(what, theirs_state);
        ++compared_;
        if (rule == UnicornRule::DebugReservedBits) resync();
    }

    // An instruction that completes and raises a debug trap (single step): both report #DB
    // with the state after it, DR6 included; then transit86 delivers it and Unicorn is given
    // the delivered state (rule unicorn-no-delivery).
    void debug_trap(const char* what) {
        const Exit ours = emu_.run(limits(true));
        io_ = ports_.take();
        EXPECT_EQ(ours.reason, ExitReason::Exception) << what << ": " << to_string(ours.reason);
        EXPECT_EQ(ours.vector, 1) << what;
        const UnicornStepResult theirs = uc_.step();
        EXPECT_EQ(theirs.reason, UnicornStepReason::Exception) << what;
        EXPECT_EQ(theirs.vector, 1) << what << ": Unicorn";
        EXPECT_EQ(io_, elements(theirs.io)) << what << ": port I/O differs";
        compare(what, theirs.state);
        ++compared_;
        deliver(what, ours, "unicorn-no-delivery");
    }

    // A debug trap transit86 raises (as the SDM says) where Unicorn, under `rule`, retires the
    // instruction without one: compared but for DR6, which Unicorn leaves as it was; then
    // transit86 delivers the #DB and Unicorn is given the delivered state.
    void debug_trap_unicorn_misses(const char* what, const char* rule) {
        const Exit ours = emu_.run(limits(true));
        io_ = ports_.take();
        EXPECT_EQ(ours.reason, ExitReason::Exception) << what << ": " << to_string(ours.reason);
        EXPECT_EQ(ours.vector, 1) << what;
        UnicornStepResult theirs = uc_.step();
        EXPECT_TRUE(theirs.reason == UnicornStepReason::Step ||
                    theirs.reason == UnicornStepReason::Io)
            << what << ": Unicorn " << to_string(theirs.reason) << " vector " << int{theirs.vector};
        EXPECT_EQ(io_, elements(theirs.io)) << what << ": port I/O differs";
        EXPECT_NE(theirs.state.dr6, emu_.state().dr6) << what << ": the rule masks nothing";
        theirs.state.dr6 = emu_.state().dr6;
        compare(what, theirs.state);
        ++compared_;
        ++masked_[rule];
        deliver(what, ours, rule);
    }

    // An instruction that faults: transit86 reports it (exceptions_to_host) and Unicorn stops
    // with the same vector at the same state, neither having done port I/O; then transit86
    // delivers it and Unicorn is given the delivered state (rule unicorn-no-delivery).
    // Returns transit86's report.
    Exit fault(const char* what, uint8_t vector) {
        const Exit ours = fault_ours(what, vector);
        const UnicornStepResult theirs = uc_.step();
        EXPECT_EQ(theirs.reason, UnicornStepReason::Exception) << what;
        EXPECT_EQ(theirs.vector, vector) << what << ": Unicorn";
        EXPECT_TRUE(theirs.io.empty()) << what << ": Unicorn did port I/O";
        compare(what, theirs.state);
        deliver(what, ours, "unicorn-no-delivery");
        return ours;
    }

    // An instruction that faults on transit86 (as the SDM says) while Unicorn, under `rule`,
    // retires it: Unicorn's step is not compared but returned (its port I/O for the caller to
    // check), then transit86 delivers the fault and Unicorn is given the delivered state.
    std::pair<Exit, UnicornStepResult> fault_unicorn_retires(const char* what, uint8_t vector,
                                                             const char* rule) {
        const Exit ours = fault_ours(what, vector);
        UnicornStepResult theirs = uc_.step();
        EXPECT_TRUE(theirs.reason == UnicornStepReason::Step ||
                    theirs.reason == UnicornStepReason::Io)
            << what << ": Unicorn " << to_string(theirs.reason) << " vector " << int{theirs.vector};
        deliver(what, ours, rule);
        return {ours, std::move(theirs)};
    }

    // A page fault on both (SDM Vol. 3A 4.7): the same error code (QEMU's, read from its
    // context) and CR2 (in the state), the state and memory compared. Rule
    // unicorn-accessed-on-fault: QEMU's walk sets the accessed flag of a PDE on its way to a
    // PTE even when the walk then faults; transit86's faulting walk sets none. When `pde` names
    // that PDE, a difference in its bit 5 alone is tallied under the rule. Then transit86
    // delivers the fault (unicorn-no-delivery) and Unicorn takes the delivered state.
    Exit page_fault(const char* what, uint32_t error_code, std::optional<uint32_t> pde = {}) {
        const Exit ours = fault_ours(what, 14);
        EXPECT_EQ(ours.error_code, error_code) << what << ": transit86's error code";
        const UnicornStepResult theirs = uc_.step();
        EXPECT_EQ(theirs.reason, UnicornStepReason::Exception) << what;
        EXPECT_EQ(theirs.vector, 14) << what << ": Unicorn";
        EXPECT_EQ(theirs.error_code, std::optional<uint32_t>(error_code))
            << what << ": Unicorn's error code";
        compare(what, theirs.state, false);
        auto theirs_ram = uc_.memory();
        if (pde && ram_[*pde] != theirs_ram[*pde] && (ram_[*pde] ^ theirs_ram[*pde]) == 0x20 &&
            (theirs_ram[*pde] & 0x20) != 0) {
            theirs_ram[*pde] = ram_[*pde];
            ++masked_["unicorn-accessed-on-fault"];
        }
        compare_memory(what);
        ++compared_;
        deliver(what, ours, "unicorn-no-delivery");
        return ours;
    }

    // An instruction transit86 retires as the SDM says while Unicorn, under `rule`, raises
    // `vector` without changing anything (QEMU without the virtual-8086 mode extensions traps
    // CLI, STI, PUSHF, POPF, IRET, INT n to #GP(0)): Unicorn's state is compared with the one
    // before the instruction, then given transit86's. The caller checks transit86's step
    // against the SDM.
    void unicorn_traps(const char* what, uint8_t vector, const char* rule) {
        const CpuState before = emu_.state();
        const Exit ours = emu_.run(limits(false));
        io_ = ports_.take();
        ASSERT_EQ(ours.reason, ExitReason::Step) << what << ": " << to_string(ours.reason);
        const UnicornStepResult theirs = uc_.step();
        EXPECT_EQ(theirs.reason, UnicornStepReason::Exception) << what;
        EXPECT_EQ(theirs.vector, vector) << what << ": Unicorn";
        CpuState after = before;
        std::swap(emu_.state(), after);
        compare(what, theirs.state, false);
        std::swap(emu_.state(), after);
        ++ruled_[rule];
        resync();
    }

    // Both retire the instruction; the EFLAGS bits in `ignored` are not compared (rule
    // `rule`, counted when they differ), and Unicorn then takes transit86's state.
    void step_masking_flags(const char* what, uint32_t ignored, const char* rule) {
        const Exit ours = emu_.run(limits(false));
        io_ = ports_.take();
        ASSERT_EQ(ours.reason, ExitReason::Step) << what << ": " << to_string(ours.reason);
        UnicornStepResult theirs = uc_.step();
        ASSERT_EQ(theirs.reason, UnicornStepReason::Step) << what << ": Unicorn";
        const uint32_t ours_flags = emu_.state().eflags;
        if ((theirs.state.eflags ^ ours_flags) & ignored) ++masked_[rule];
        theirs.state.eflags = (theirs.state.eflags & ~ignored) | (ours_flags & ignored);
        compare(what, theirs.state);
        ++compared_;
        resync();
    }

    // INT n: transit86 delivers it; Unicorn stops after it with vector n (unicorn-no-delivery,
    // or `rule` when Unicorn would not have delivered it as the SDM says either).
    void software_interrupt(const char* what, uint8_t vector,
                            const char* rule = "unicorn-no-delivery") {
        const CpuState before = emu_.state();
        const Exit ours = emu_.run(limits(false));
        ASSERT_EQ(ours.reason, ExitReason::Step) << what << ": " << to_string(ours.reason);
        const UnicornStepResult theirs = uc_.step();
        EXPECT_EQ(theirs.reason, UnicornStepReason::Exception) << what;
        EXPECT_EQ(theirs.vector, vector) << what << ": Unicorn";
        CpuState after_int = before; // nothing pushed or switched yet
        after_int.eip = before.eip + 2;
        std::swap(emu_.state(), after_int);
        compare(what, theirs.state, false);
        std::swap(emu_.state(), after_int);
        ++ruled_[rule];
        resync();
    }

  private:
    // transit86 runs a faulting instruction: it must report `vector` without port I/O and
    // leave EIP at the instruction.
    Exit fault_ours(const char* what, uint8_t vector) {
        const uint32_t eip = emu_.state().eip;
        const Exit ours = emu_.run(limits(true));
        io_ = ports_.take();
        EXPECT_EQ(ours.reason, ExitReason::Exception) << what << ": " << to_string(ours.reason);
        EXPECT_EQ(ours.vector, vector) << what;
        EXPECT_TRUE(io_.empty()) << what << ": transit86 did port I/O";
        EXPECT_EQ(emu_.state().eip, eip) << what << ": a fault saves the faulting EIP";
        return ours;
    }

    // transit86 delivers its fault; Unicorn takes the delivered state; the step counts under
    // `rule`.
    void deliver(const char* what, const Exit& ours, const char* rule) {
        const InjectedEvent event{.kind = InjectedEvent::Kind::Exception,
                                  .vector = ours.vector,
                                  .has_error_code = ours.has_error_code,
                                  .error_code = ours.error_code};
        EXPECT_FALSE(emu_.deliver_event(event).has_value()) << what << ": delivery";
        ++ruled_[rule];
        resync();
    }

    static RunLimits limits(bool exceptions_to_host) {
        return RunLimits{.budget = 0,
                         .stop_when_valid = std::nullopt,
                         .single_step = true,
                         .exceptions_to_host = exceptions_to_host};
    }

    // Unicorn's state after a step against transit86's, and all of guest RAM.
    void compare(const char* what, CpuState theirs, bool memory = true) {
        const CpuState& ours = emu_.state();
        theirs.efer = ours.efer; // not readable from Unicorn
        theirs.interruptibility = ours.interruptibility;
        theirs.activity = ours.activity;
        const bool caches = uc_.read_hidden(theirs);
        EXPECT_TRUE(caches) << what << ": Unicorn's segment caches could not be read";
        if (!caches)
            for (int i = 0; i < kNumSegs; ++i)
                theirs.seg[i] = ours.seg[i];
        // Rule unicorn-tr-available: QEMU's TR cache keeps the descriptor as it was before
        // the busy bit was set (type 9 / 1, "available"); the SDM's is the busy TSS.
        if (ours.tr.selector == theirs.tr.selector &&
            (ours.tr.access_rights ^ theirs.tr.access_rights) == 2 &&
            (ours.tr.access_rights & 2) != 0) {
            theirs.tr.access_rights = ours.tr.access_rights;
            ++masked_["unicorn-tr-available"];
        }
        const auto diffs = diff_states(ours, theirs, {.compare_interruptibility = false});
        EXPECT_TRUE(diffs.empty()) << what << ":\n  " << testing::PrintToString(diffs);
        if (memory) compare_memory(what);
    }
    void compare_memory(const char* what) {
        const auto theirs_ram = uc_.memory();
        for (size_t at = 0; at < ram_.size(); ++at) {
            if (ram_[at] == theirs_ram[at]) continue;
            ADD_FAILURE() << what << ": memory differs first at " << std::hex << at << ": ours "
                          << int{ram_[at]} << ", Unicorn " << int{theirs_ram[at]};
            break;
        }
    }

    // Unicorn takes transit86's memory and state.
    void resync() {
        ASSERT_TRUE(uc_.load(0, ram_));
        const CpuState& s = emu_.state();
        if (reentry_.code != 0 && s.protected_mode() && (s.v86() || s.cpl() == 3))
            return resync_through_iret();
        std::string error;
        ASSERT_TRUE(uc_.set_state(s, &error)) << error;
    }

    // The IretReentry path of resync(): an IRETD at ring 0 (to virtual-8086 mode with ES, DS,
    // FS, GS in the frame, or to CPL 3), then the same comparison as after a step.
    void resync_through_iret() {
        const CpuState& s = emu_.state();
        std::vector<uint32_t> frame = {s.eip, s[Seg::CS].selector, s.eflags, s[Gpr::ESP],
                                       s[Seg::SS].selector};
        if (s.v86())
            for (Seg seg : {Seg::ES, Seg::DS, Seg::FS, Seg::GS})
                frame.push_back(s[seg].selector);
        std::vector<uint8_t> bytes(frame.size() * 4);
        std::memcpy(bytes.data(), frame.data(), bytes.size());
        bytes.push_back(0xCF); // iretd
        const uint32_t scratch = reentry_.scratch;
        ASSERT_TRUE(uc_.load(scratch, bytes));
        CpuState ring0 = s;
        ring0.eflags = flags::Fixed1 | (s.eflags & (flags::VIF | flags::VIP));
        const SegmentCache data{
            .base = 0, .limit = 0xFFFFFFFF, .access_rights = 0xC093, .selector = reentry_.data};
        ring0[Seg::SS] = data;
        if (s.v86())
            for (Seg seg : {Seg::ES, Seg::DS, Seg::FS, Seg::GS})
                ring0[seg] = data;
        ring0[Seg::CS] = SegmentCache{
            .base = 0, .limit = 0xFFFFFFFF, .access_rights = 0xC09B, .selector = reentry_.code};
        ring0.eip = scratch + static_cast<uint32_t>(frame.size() * 4);
        ring0[Gpr::ESP] = scratch;
        std::string error;
        ASSERT_TRUE(uc_.set_state(ring0, &error)) << error;
        const UnicornStepResult entered = uc_.step();
        ASSERT_EQ(entered.reason, UnicornStepReason::Step)
            << "re-entry IRETD: Unicorn " << to_string(entered.reason) << " vector "
            << int{entered.vector};
        ASSERT_TRUE(uc_.load(scratch, {ram_.data() + scratch, bytes.size()}));
        compare("re-entry through IRETD", entered.state);
    }

    UnicornRunner& uc_;
    std::vector<uint8_t>& ram_;
    RamSlot slot_;
    PortRecorder ports_;
    Emulator emu_;
    std::vector<PortAccess> io_;
    IretReentry reentry_;
    int compared_ = 0;
    std::map<std::string, int> ruled_;  // steps not compared
    std::map<std::string, int> masked_; // compared steps with a field masked
};

} // namespace transit86::oracle
