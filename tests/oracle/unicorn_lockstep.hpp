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
        compare(what, theirs.state);
        ++compared_;
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

    // INT n: transit86 delivers it; Unicorn stops after it with vector n (unicorn-no-delivery).
    void software_interrupt(const char* what, uint8_t vector) {
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
        ++ruled_["unicorn-no-delivery"];
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
        std::string error;
        ASSERT_TRUE(uc_.set_state(emu_.state(), &error)) << error;
    }

    UnicornRunner& uc_;
    std::vector<uint8_t>& ram_;
    RamSlot slot_;
    PortRecorder ports_;
    Emulator emu_;
    std::vector<PortAccess> io_;
    int compared_ = 0;
    std::map<std::string, int> ruled_;  // steps not compared
    std::map<std::string, int> masked_; // compared steps with a field masked
};

} // namespace transit86::oracle
