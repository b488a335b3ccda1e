#include "diff/known_differences.hpp"

#include <algorithm>
#include <cstring>

#include "diff/semantics.hpp"

namespace transit86::diff {

namespace {

using decoder::Op;

// The opcode bytes after the legacy prefixes.
std::span<const uint8_t> opcode(const StepFacts& f) {
    size_t i = 0;
    while (i < f.bytes.size() &&
           (f.bytes[i] == 0x66 || f.bytes[i] == 0x67 || f.bytes[i] == 0xF0 || f.bytes[i] == 0xF2 ||
            f.bytes[i] == 0xF3 || f.bytes[i] == 0x26 || f.bytes[i] == 0x2E || f.bytes[i] == 0x36 ||
            f.bytes[i] == 0x3E || f.bytes[i] == 0x64 || f.bytes[i] == 0x65))
        ++i;
    return f.bytes.subspan(i);
}

bool fields_within(const StepFacts& f, std::initializer_list<const char*> allowed) {
    return !f.fields.empty() && std::all_of(f.fields.begin(), f.fields.end(), [&](const auto& x) {
        return std::any_of(allowed.begin(), allowed.end(),
                           [&](const char* a) { return x.rfind(a, 0) == 0; });
    });
}

// transit86 raised #GP/#SS and the oracle raised neither.
bool only_we_faulted_on_limit(const StepFacts& f) {
    const bool limit_fault = f.our_vector && (*f.our_vector == 12 || *f.our_vector == 13);
    const bool oracle_did = f.oracle_outcome == OracleOutcome::Exception &&
                            (f.oracle_vector == 12 || f.oracle_vector == 13);
    return limit_fault && !oracle_did;
}

// QEMU TCG has no segment limit checks: a real-mode access past offset 0xFFFF, which the SDM
// faults (#GP, or #SS for the stack: Vol. 3A 21.1.1, Vol. 2 "Real-Address Mode Exceptions"),
// simply reads or writes memory (past RAM: reports it unmapped), and a near jump past the CS
// limit is not checked either. Pinned by UnicornRunnerTest.RealModeLimitIsNotChecked.
bool no_limit_check(const StepFacts& f) {
    return f.mode == Mode::Real && only_we_faulted_on_limit(f) &&
           may_cross_limit(*f.insn, *f.before);
}

// Protected mode, 4 GiB segments: an access that wraps past 0xFFFFFFFF "may or may not cause
// the indicated exceptions. Behavior is implementation-specific" (SDM Vol. 3A 5.3).
// transit86 faults; QEMU wraps, and so does KVM on the host this was written on.
bool wrap_at_4g(const StepFacts& f) {
    return f.mode == Mode::Pm32 && only_we_faulted_on_limit(f) &&
           may_cross_limit(*f.insn, *f.before);
}

// QEMU TCG checks segment types only when a selector is loaded: a write through a CS override
// to an execute/read code segment is done, where the SDM raises #GP(0) ("the destination is
// located in a non-writable segment", Vol. 2 MOV and every read-modify-write instruction).
bool no_write_check(const StepFacts& f) {
    if (f.mode != Mode::Pm32 || !f.our_vector || *f.our_vector != 13) return false;
    if (f.oracle_outcome == OracleOutcome::Exception) return false;
    for (int i = 0; i < f.insn->operand_count; ++i) {
        const auto& o = f.insn->operands[i];
        if (o.kind == decoder::OperandKind::Mem && o.segment == static_cast<uint8_t>(Seg::CS))
            return true;
    }
    return false;
}

// QEMU decodes RET imm16 with a sign-extending load (x86_ldsw_code), so imm16 >= 0x8000 moves a
// 32-bit ESP down by 0x10000 - imm16 instead of up by imm16 (SDM Vol. 2B RET: "ESP := ESP +
// SRC", imm16 the number of bytes to release). With a 16-bit stack the two agree.
bool ret_imm16_sign_extended(const StepFacts& f) {
    if (f.insn->op != Op::Ret || f.insn->operand_count != 1) return false;
    const auto& imm = f.insn->operands[0];
    return imm.kind == decoder::OperandKind::Imm && (imm.value & 0x8000) != 0 &&
           ar::db(f.before->seg[static_cast<int>(Seg::SS)].access_rights) &&
           fields_within(f, {"esp"});
}

// ENTER with an operand size other than the stack size (66 c8 on a 16-bit stack, c8 in 32-bit
// code on a B = 0 stack, 66 c8 on a 32-bit stack). SDM Vol. 2A ENTER (Operation, by operand
// size): OperandSize = 32 takes FrameTemp := ESP, all 32 bits, pushes it as a doubleword and
// sets EBP := FrameTemp; OperandSize = 16 takes SP and sets only BP (Bochs' ENTER32_IwIb and
// test386.asm POST 1A agree). QEMU (gen_enter) takes FrameTemp from ESP and writes EBP with
// the stack width.
bool enter_mixed_sizes(const StepFacts& f) {
    if (f.insn->op != Op::Enter) return false;
    const uint32_t stack = ar::db(f.before->seg[static_cast<int>(Seg::SS)].access_rights) ? 4 : 2;
    return f.insn->operand_size != stack && fields_within(f, {"ebp", "memory", "esp"});
}

// F6 /1 and F7 /1: the opcode map leaves Group 3 /1 blank; processors execute it as TEST
// (Zydis and transit86 decode it so); QEMU raises #UD.
bool test_alias_ud(const StepFacts& f) {
    const auto op = opcode(f);
    return !f.our_vector && f.oracle_outcome == OracleOutcome::Exception && f.oracle_vector == 6 &&
           op.size() >= 2 && (op[0] == 0xF6 || op[0] == 0xF7) && ((op[1] >> 3) & 7) == 1;
}

// 0F 0D and 0F 18 /0-/3 with a register operand: the SDM opcode map gives "prefetchw(/1) Ev"
// and Group 16 (prefetch hints, the rest reserved NOPs); Zydis and transit86 decode a NOP,
// QEMU raises #UD for mod = 11. Silicon not checked here (docs/differential.md).
bool prefetch_register_ud(const StepFacts& f) {
    const auto op = opcode(f);
    return !f.our_vector && f.oracle_outcome == OracleOutcome::Exception && f.oracle_vector == 6 &&
           op.size() >= 3 && op[0] == 0x0F && (op[1] == 0x0D || op[1] == 0x18) && (op[2] >> 6) == 3;
}

// LOCK NEG: QEMU computes the flags from the operand instead of the result (NEG of 0xE8 gives
// SF = 1); SDM Vol. 2B NEG: "flags are set according to the result". Plain NEG is right.
bool lock_neg_flags(const StepFacts& f) {
    return f.insn->op == Op::Neg && (f.insn->prefixes & decoder::prefix::Lock) != 0 &&
           fields_within(f, {"eflags"});
}

// --- Both oracles -----------------------------------------------------------------------------

// F3 0F BC / F3 0F BD: TZCNT / LZCNT on a CPU whose CPUID has BMI1 / LZCNT (the host under KVM,
// QEMU's model under Unicorn), BSF / BSR with the prefix ignored on one without (SDM Vol. 2B
// TZCNT, LZCNT), as transit86's model (Zydis does not report an F3 the instruction ignores:
// the bytes are looked at). Only the destination and the flags may differ; plain BSF / BSR are
// compared as usual.
bool tzcnt_lzcnt(const StepFacts& f) {
    const std::span<const uint8_t> prefixes = f.bytes.first(f.bytes.size() - opcode(f).size());
    const bool f3 = std::find(prefixes.begin(), prefixes.end(), 0xF3) != prefixes.end();
    return (f.insn->op == Op::Bsf || f.insn->op == Op::Bsr) && f3 &&
           fields_within(f, {"eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi", "eflags"});
}

// --- KVM's instruction emulator (arch/x86/kvm/emulate.c) -------------------------------------

// AAM/AAD: em_aam/em_aad set SF, ZF and PF with an OR over the whole destination (AX, or EAX
// with 66), not AL; the SDM: "set according to the resulting binary value in the AL register".
bool kvm_aam_aad_flags(const StepFacts& f) {
    if ((f.insn->op != Op::Aam && f.insn->op != Op::Aad) || f.ours == nullptr ||
        f.theirs == nullptr || !fields_within(f, {"eflags"}))
        return false;
    const uint32_t differ = (f.ours->eflags ^ f.theirs->eflags) & ~(flags::RF | flags::TF);
    return (differ & ~(flags::SF | flags::ZF | flags::PF)) == 0;
}

// STI with IF already 1: KVM reports blocking by STI anyway (toggle_interruptibility); the SDM
// sets it only for "execution of STI with RFLAGS.IF = 0" (Vol. 3C 25.4.2, Table 25-3).
bool kvm_sti_shadow(const StepFacts& f) {
    return f.insn->op == Op::Sti && (f.before->eflags & flags::IF) != 0 &&
           fields_within(f, {"interruptibility"});
}

// Exception delivery on a stack segment with B = 0 (real mode; the GDT's 0x20 in protected
// mode, base 0x20000): the SDM pushes at SS.base + SP and leaves ESP[31:16] alone (Vol. 3A
// 21.1.4, 6.12.1). KVM here clears ESP[31:16] in real mode, and in protected mode pushes at
// ESP as if SS were flat (the frame lands elsewhere; outside RAM it shuts down).
bool kvm_delivery_small_stack(const StepFacts& f) {
    const bool small_stack = !ar::db(f.before->seg[static_cast<int>(Seg::SS)].access_rights);
    if (!small_stack) return false;
    if (fields_within(f, {"delivery"}))
        return f.mode == Mode::Pm32 || (f.before->gpr[4] >> 16) != 0;
    if (!f.delivered) return false;
    if (f.mode == Mode::Pm32) return fields_within(f, {"esp", "memory"});
    return f.ours != nullptr && f.theirs != nullptr && fields_within(f, {"esp"}) &&
           (f.theirs->gpr[4] >> 16) == 0 &&
           (f.ours->gpr[4] & 0xFFFF) == (f.theirs->gpr[4] & 0xFFFF);
}

// POP Sreg with a 32-bit operand size: KVM's em_pop_sreg reads a word and skips two bytes, so
// a doubleword crossing the stack limit does not fault; the SDM's POP copies a doubleword
// ("DEST := SS:SP (* Copy a doubleword *)"), and transit86 raises #SS.
bool kvm_pop_sreg_word(const StepFacts& f) {
    if (f.insn->op != Op::Pop || f.insn->operand_size != 4 || f.insn->operand_count != 1 ||
        f.insn->operands[0].kind != decoder::OperandKind::Sreg)
        return false;
    return only_we_faulted_on_limit(f) && may_cross_limit(*f.insn, *f.before);
}

// Instructions KVM's emulator lacks (DAA, DAS, AAA, AAS, BOUND; oracles.md) normally end in
// KVM_EXIT_INTERNAL_ERROR (skipped); sometimes the failure path leaves the vCPU somewhere
// unrelated instead (real-mode AAA ending at CS 0x13 with DPL-3 segments).
bool kvm_missing_instruction(const StepFacts& f) {
    const Op op = f.insn->op;
    return op == Op::Daa || op == Op::Das || op == Op::Aaa || op == Op::Aas || op == Op::Bound;
}

// Protected-mode exception delivery on KVM (this host) clears EFLAGS.AC; the SDM clears TF, VM,
// RF, NT and, for an interrupt gate, IF (Vol. 3A 6.12.1.3, INT n "Operation"), not AC.
bool kvm_delivery_clears_ac(const StepFacts& f) {
    return f.delivered && f.ours != nullptr && f.theirs != nullptr &&
           fields_within(f, {"eflags"}) &&
           ((f.ours->eflags ^ f.theirs->eflags) & ~(flags::RF | flags::TF)) == flags::AC &&
           (f.theirs->eflags & flags::AC) == 0;
}

// Real mode, the exception frame does not fit below SP (SP < 6 wraps through the limit): the
// pushes fault again, #DF, then shutdown (SDM Vol. 2B PUSH, "IA-32 Architecture
// Compatibility"; transit86 reports the triple fault). KVM's real-mode injection has no limit
// checks and delivers.
bool kvm_real_delivery_no_limit(const StepFacts& f) {
    return f.mode == Mode::Real && fields_within(f, {"delivery"}) &&
           (f.before->gpr[4] & 0xFFFF) < 6;
}

// ENTER with an operand size other than the stack size: em_enter pushes EBP with the stack
// width and masks EBP with the stack mask; the SDM pushes an operand-size EBP (Vol. 2A ENTER).
bool kvm_enter_mixed_sizes(const StepFacts& f) {
    if (f.insn->op != Op::Enter) return false;
    const uint32_t stack = ar::db(f.before->seg[static_cast<int>(Seg::SS)].access_rights) ? 4 : 2;
    return f.insn->operand_size != stack && fields_within(f, {"ebp", "esp", "memory"});
}

// Hint NOPs 0F 19-0F 1E (and 0F 0D / 0F 18): in protected mode KVM's step does not stop after
// them and a second instruction runs, and a memory operand outside RAM is accessed (an MMIO
// exit; a NOP accesses no memory). In real mode KVM fails to emulate them (skipped).
bool kvm_hint_nop_step(const StepFacts& f) {
    const auto op = opcode(f);
    return f.insn->op == Op::Nop && op.size() >= 2 && op[0] == 0x0F && op[1] != 0x1F;
}

// In a row of interrupt-delaying instructions (STI, MOV SS, POP SS) "only the first
// instruction in the sequence is guaranteed to delay the interrupt" (SDM Vol. 2B STI): the
// second one's shadow is implementation-specific. transit86 sets it; KVM does not.
bool shadow_sequence(const StepFacts& f) {
    const bool delaying = f.insn->op == Op::Sti || f.insn->op == Op::MovToSreg ||
                          f.insn->op == Op::Pop || f.insn->op == Op::Lss;
    return delaying && f.before->interruptibility != 0 && fields_within(f, {"interruptibility"});
}

// ENTER with a nesting level above 0 is missing from KVM's emulator: in real mode it injects
// #UD instead of stopping with an internal error (em_enter: "if (nesting_level) return
// X86EMUL_UNHANDLEABLE"). The SDM defines it (Vol. 2A ENTER, "Operation").
bool kvm_enter_nesting(const StepFacts& f) {
    return f.insn->op == Op::Enter && f.insn->operand_count == 2 &&
           (f.insn->operands[1].value & 0x1F) != 0;
}

// A REP string instruction that faults on a later iteration: the completed iterations keep
// their effect, EFLAGS included (each iteration sets the flags of its comparison; SDM Vol. 2B
// REP: "the registers and flags reflect the state after the last completed iteration" when
// the instruction is interrupted). KVM commits the index and count registers but hands back
// the flags from before the instruction.
bool kvm_rep_fault_flags(const StepFacts& f) {
    const Op op = f.insn->op;
    const bool rep = f.insn->prefixes & (decoder::prefix::Rep | decoder::prefix::Repne);
    return rep && (op == Op::Cmps || op == Op::Scas) && f.delivered && fields_within(f, {"eflags"});
}

// An exception frame that does not fit on the stack: the SDM checks for room for the whole
// frame before pushing ("IF current stack does not have room ... THEN #SS(EXT)", Vol. 2A INT n
// "Operation"), so nothing is written before #SS, #DF and the shutdown. KVM pushes what fits
// and leaves part of a frame in memory.
bool kvm_partial_frame(const StepFacts& f) {
    constexpr uint32_t kLargestFrame = 16; // EFLAGS, CS, EIP and an error code, 32-bit gate
    return f.mode == Mode::Pm32 && f.before != nullptr && (*f.before)[Gpr::ESP] < kLargestFrame &&
           fields_within(f, {"memory"});
}

constexpr KnownDifference kKnown[] = {
    {"unicorn-no-limit-check", "unicorn",
     "QEMU TCG does not check segment limits; the SDM raises #GP/#SS past a real-mode limit",
     no_limit_check},
    {"wrap-at-4g", "*",
     "an access wrapping past 4 GiB may or may not fault (SDM Vol. 3A 5.3); QEMU wraps",
     wrap_at_4g},
    {"cpuid-tzcnt-lzcnt", "*",
     "the oracle's CPU has BMI1 and LZCNT: F3 0F BC/BD are TZCNT/LZCNT there, BSF/BSR on "
     "transit86's model, which claims neither (SDM Vol. 2B TZCNT, LZCNT)",
     tzcnt_lzcnt},
    {"unicorn-no-write-check", "unicorn",
     "QEMU TCG writes through CS to a code segment; the SDM raises #GP(0)", no_write_check},
    {"unicorn-ret-imm16-sign", "unicorn",
     "QEMU sign-extends the imm16 of RET; the SDM adds it unsigned", ret_imm16_sign_extended},
    {"unicorn-enter-mixed-sizes", "unicorn",
     "ENTER with operand size != stack size: QEMU takes FrameTemp from ESP and writes EBP with "
     "the stack width; the SDM pseudo-code uses SP, and writes only BP for a 16-bit operand",
     enter_mixed_sizes},
    {"unicorn-lock-neg-flags", "unicorn",
     "QEMU sets the flags of LOCK NEG from the operand, not the result", lock_neg_flags},
    {"unicorn-test-alias-ud", "unicorn", "QEMU raises #UD for the TEST alias F6/F7 /1",
     test_alias_ud},
    {"unicorn-prefetch-reg-ud", "unicorn",
     "QEMU raises #UD for 0F 0D / 0F 18 with a register operand (SDM map: prefetch Ev)",
     prefetch_register_ud},
    {"unicorn-identity-maps", "unicorn",
     "Unicorn 2.0.1 ignores page tables: after the case overwrote the page directory (--paging) "
     "transit86 translates through the new entries (SDM Vol. 3A 4.3), the oracle does not",
     [](const StepFacts& f) { return f.page_directory_changed; }},
    {"kvm-aam-aad-flags", "kvm", "KVM sets SF/ZF/PF of AAM/AAD from AX or EAX, the SDM from AL",
     kvm_aam_aad_flags},
    {"kvm-pop-sreg-word", "kvm", "KVM's 32-bit POP Sreg reads a word: no #SS at the limit",
     kvm_pop_sreg_word},
    {"kvm-missing-instruction", "kvm", "KVM's emulator has no DAA/DAS/AAA/AAS/BOUND",
     kvm_missing_instruction},
    {"kvm-delivery-clears-ac", "kvm", "KVM clears EFLAGS.AC when it delivers an exception",
     kvm_delivery_clears_ac},
    {"kvm-sti-shadow", "kvm", "KVM reports blocking by STI after STI with IF already 1",
     kvm_sti_shadow},
    {"kvm-delivery-small-stack", "kvm",
     "KVM's exception delivery on a B = 0 stack uses ESP (and a flat SS in protected mode)",
     kvm_delivery_small_stack},
    {"shadow-sequence", "*",
     "a second interrupt-delaying instruction in a row may or may not delay (SDM Vol. 2B STI)",
     shadow_sequence},
    {"kvm-real-delivery-no-limit", "kvm",
     "KVM delivers a real-mode exception whose frame wraps past the SS limit (SDM: shutdown)",
     kvm_real_delivery_no_limit},
    {"kvm-enter-mixed-sizes", "kvm",
     "KVM's ENTER pushes EBP with the stack width, not the operand size", kvm_enter_mixed_sizes},
    {"kvm-hint-nop-step", "kvm", "KVM's single step runs past a hint NOP (0F 19-1E)",
     kvm_hint_nop_step},
    {"kvm-enter-nesting", "kvm", "KVM's emulator lacks ENTER with nesting > 0 and injects #UD",
     kvm_enter_nesting},
    {"kvm-rep-fault-flags", "kvm",
     "a REP CMPS/SCAS faulting on a later iteration: KVM drops the completed iterations' flags",
     kvm_rep_fault_flags},
    {"kvm-partial-frame", "kvm",
     "an exception frame without room: KVM writes part of it; the SDM checks room first",
     kvm_partial_frame},
};

} // namespace

const KnownDifference* find_known_difference(const StepFacts& facts) {
    for (const KnownDifference& k : kKnown)
        if ((std::strcmp(k.oracle, "*") == 0 || std::strcmp(k.oracle, facts.oracle) == 0) &&
            k.matches(facts))
            return &k;
    return nullptr;
}

} // namespace transit86::diff
