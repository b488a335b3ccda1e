// System instructions: LGDT/LIDT/SGDT/SIDT, LTR/STR, LLDT/SLDT, LMSW/SMSW, MOV to/from CR0
// (incl. the PE switch and what it does to decoding), flag instructions, the STI and MOV SS
// interrupt shadows, HLT. SDM Vol. 2A/2B pages named in each test.
#include "machine.hpp"

namespace transit86::test {

namespace {

// A pseudo-descriptor (SDM Vol. 3A 3.5.1, Figure 3-11): 16-bit limit, then 32-bit base.
void write_pseudo_descriptor(Machine& m, uint32_t address, uint16_t limit, uint32_t base) {
    m.write16(address, limit);
    m.write32(address + 2, base);
}

constexpr uint32_t kTssIndex = 5, kLdtIndex = 6;
constexpr uint16_t kTssSelector = kTssIndex * 8, kLdtSelector = kLdtIndex * 8;

} // namespace

// ---- LGDT / LIDT (SDM LGDT/LIDT: with a 16-bit operand size only 24 bits of base load)

TEST(Lgdt, Operand16LoadsTwentyFourBitBase) {
    Machine m;
    m.load_code({0x0F, 0x01, 0x16, 0x00, 0x20}); // lgdt [0x2000]
    write_pseudo_descriptor(m, 0x2000, 0x0027, 0x12345678);
    m.run(1);
    EXPECT_EQ(m.state().gdtr, (DescriptorTableRegister{.base = 0x00345678, .limit = 0x27}));
}

TEST(Lgdt, Operand32LoadsFullBase) {
    Machine m;
    m.load_code({0x66, 0x0F, 0x01, 0x16, 0x00, 0x20}); // o32 lgdt [0x2000]
    write_pseudo_descriptor(m, 0x2000, 0x0027, 0x12345678);
    m.run(1);
    EXPECT_EQ(m.state().gdtr, (DescriptorTableRegister{.base = 0x12345678, .limit = 0x27}));
}

TEST(Lidt, Operand16LoadsTwentyFourBitBase) {
    Machine m;
    m.load_code({0x0F, 0x01, 0x1E, 0x00, 0x20}); // lidt [0x2000]
    write_pseudo_descriptor(m, 0x2000, 0x07FF, 0xAB000000 | 0x123456);
    m.run(1);
    EXPECT_EQ(m.state().idtr, (DescriptorTableRegister{.base = 0x00123456, .limit = 0x7FF}));
}

TEST(Lidt, Operand32LoadsFullBase) {
    Machine m;
    m.load_code({0x66, 0x0F, 0x01, 0x1E, 0x00, 0x20}); // o32 lidt [0x2000]
    write_pseudo_descriptor(m, 0x2000, 0x07FF, 0xAB123456);
    m.run(1);
    EXPECT_EQ(m.state().idtr, (DescriptorTableRegister{.base = 0xAB123456, .limit = 0x7FF}));
}

TEST(Lgdt, Cpl3RaisesGP0) {
    // SDM LGDT: "#GP(0) If the current privilege level is not 0."
    Machine m(Mode::Protected32);
    m.drop_to_cpl3();
    m.load_code({0x0F, 0x01, 0x15, 0x00, 0x20, 0x00, 0x00}); // lgdt [0x2000]
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, 0));
}

// ---- SGDT / SIDT

TEST(Sgdt, Operand32StoresLimitAndFullBase) {
    Machine m(Mode::Protected32);
    m.state().gdtr = {.base = 0x12345678, .limit = 0x0027};
    m.load_code({0x0F, 0x01, 0x05, 0x00, 0x20, 0x00, 0x00}); // sgdt [0x2000]
    m.run(1);
    EXPECT_EQ(m.read16(0x2000), 0x0027);
    EXPECT_EQ(m.read32(0x2002), 0x12345678u);
}

TEST(Sgdt, Operand16StoresTwentyFourBitBase) {
    Machine m;
    m.state().gdtr = {.base = 0x00345678, .limit = 0x0027};
    m.write64(0x2000, ~uint64_t{0});
    m.load_code({0x0F, 0x01, 0x06, 0x00, 0x20}); // sgdt [0x2000]
    m.run(1);
    EXPECT_EQ(m.read16(0x2000), 0x0027);
    EXPECT_EQ(m.read32(0x2002), 0x00345678u);
    EXPECT_EQ(m.read16(0x2006), 0xFFFF); // six bytes only
}

// Disabled: SDM editions disagree. Current SGDT "Operation" stores the full 32-bit base for
// both operand sizes; older editions (and KVM's emulate_store_desc_ptr, QEMU) store 24 bits
// and a zero sixth byte with a 16-bit operand, which is what transit86 does.
TEST(Sgdt, DISABLED_Operand16StoresFullBaseAsCurrentSdmOperation) {
    Machine m;
    m.state().gdtr = {.base = 0x12345678, .limit = 0x0027};
    m.load_code({0x0F, 0x01, 0x06, 0x00, 0x20}); // sgdt [0x2000]
    m.run(1);
    EXPECT_EQ(m.read32(0x2002), 0x12345678u);
}

TEST(Sidt, Operand32StoresLimitAndFullBase) {
    Machine m(Mode::Protected32);
    m.state().idtr = {.base = 0xFEDC0000, .limit = 0x07FF};
    m.load_code({0x0F, 0x01, 0x0D, 0x00, 0x20, 0x00, 0x00}); // sidt [0x2000]
    m.run(1);
    EXPECT_EQ(m.read16(0x2000), 0x07FF);
    EXPECT_EQ(m.read32(0x2002), 0xFEDC0000u);
}

// ---- LTR / STR (SDM Vol. 2A LTR, Vol. 2B STR)

TEST(Ltr, LoadsTrAndMarksTheTssBusyInMemory) {
    Machine m(Mode::Protected32);
    m.set_descriptor(kTssIndex, 0x3000, 0x67, access::kTss32, 0);
    m.load_code({0x0F, 0x00, 0xD8}); // ltr ax
    m.gpr(Gpr::EAX) = kTssSelector;
    m.run(1);
    EXPECT_EQ(m.state().tr, segment_cache(kTssSelector, 0x3000, 0x67, 0x8B)); // busy TSS
    EXPECT_EQ(m.read8(kGdtBase + kTssIndex * 8 + 5), 0x8B);
}

TEST(Ltr, NullSelectorRaisesGP0) {
    Machine m(Mode::Protected32);
    m.load_code({0x0F, 0x00, 0xD8}); // ltr ax
    m.gpr(Gpr::EAX) = 0x0003;
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, 0));
}

TEST(Ltr, NonTssDescriptorRaisesGPSelector) {
    Machine m(Mode::Protected32);
    m.load_code({0x0F, 0x00, 0xD8}); // ltr ax
    m.gpr(Gpr::EAX) = kData32;
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, kData32));
}

TEST(Ltr, BusyTssRaisesGPSelector) {
    Machine m(Mode::Protected32);
    m.set_descriptor(kTssIndex, 0x3000, 0x67, access::kTss32 | 2, 0); // 8B: busy
    m.load_code({0x0F, 0x00, 0xD8});                                  // ltr ax
    m.gpr(Gpr::EAX) = kTssSelector;
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, kTssSelector));
}

TEST(Ltr, NotPresentRaisesNPSelector) {
    Machine m(Mode::Protected32);
    m.set_descriptor(kTssIndex, 0x3000, 0x67, access::kTss32 & 0x7F, 0);
    m.load_code({0x0F, 0x00, 0xD8}); // ltr ax
    m.gpr(Gpr::EAX) = kTssSelector;
    EXPECT_TRUE(is_exception(m.run(1), vec::kNP, kTssSelector));
    EXPECT_EQ(m.read8(kGdtBase + kTssIndex * 8 + 5), 0x09); // not marked busy
}

TEST(Ltr, RealModeRaisesUD) {
    // SDM LTR: "Real-Address Mode Exceptions: #UD The LTR instruction is not recognized in
    // real-address mode." Delivered through IVT entry 6.
    Machine m;
    m.set_ivt(vec::kUD, 0x0400, 0x0000);
    m.load_code({0x0F, 0x00, 0xD8}); // ltr ax
    m.run(1);
    EXPECT_EQ(m.seg(Seg::CS).selector, 0x0400);
    EXPECT_EQ(m.eip(), 0u);
    EXPECT_EQ(m.read16(kStackTop - 6), kCode);
}

TEST(Str, ToReg32ZeroExtends) {
    // SDM STR: to a 32-bit register "the upper 16 bits of the register are cleared".
    Machine m(Mode::Protected32);
    m.state().tr.selector = 0x0028;
    m.load_code({0x0F, 0x00, 0xC8}); // str eax
    m.gpr(Gpr::EAX) = 0xFFFFFFFF;
    m.run(1);
    EXPECT_EQ(m.gpr(Gpr::EAX), 0x00000028u);
}

// ---- LLDT / SLDT (SDM Vol. 2A LLDT, Vol. 2B SLDT)

TEST(Lldt, LoadsLdtrFromAnLdtDescriptor) {
    Machine m(Mode::Protected32);
    m.set_descriptor(kLdtIndex, 0x4000, 0x1F, access::kLdt, 0);
    m.load_code({0x0F, 0x00, 0xD0}); // lldt ax
    m.gpr(Gpr::EAX) = kLdtSelector;
    m.run(1);
    EXPECT_EQ(m.state().ldtr, segment_cache(kLdtSelector, 0x4000, 0x1F, 0x82));
}

TEST(Lldt, NullSelectorMakesLdtrUnusable) {
    Machine m(Mode::Protected32);
    m.state().ldtr = segment_cache(kLdtSelector, 0x4000, 0x1F, 0x82);
    m.load_code({0x0F, 0x00, 0xD0}); // lldt ax
    m.gpr(Gpr::EAX) = 0;
    const Exit e = m.run(1);
    EXPECT_EQ(e.reason, ExitReason::Budget);
    EXPECT_TRUE(ar::unusable(m.state().ldtr.access_rights));
}

TEST(Lldt, NonLdtDescriptorRaisesGPSelector) {
    Machine m(Mode::Protected32);
    m.load_code({0x0F, 0x00, 0xD0}); // lldt ax
    m.gpr(Gpr::EAX) = kData32;
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, kData32));
}

TEST(Lldt, LoadedLdtServesSelectorsWithTiSet) {
    // SDM Vol. 3A 3.4.2: TI = 1 selects the LDT; entry 1 of the LDT is selector 0x0C.
    Machine m(Mode::Protected32);
    m.set_descriptor(kLdtIndex, 0x4000, 0x1F, access::kLdt, 0);
    m.write_descriptor(0x4008, 0x50000, 0xFFFF, access::kDataRW, 0x4);
    m.load_code({
        0x0F, 0x00, 0xD0,       // lldt ax
        0x66, 0xB8, 0x0C, 0x00, // mov ax, 0x0C
        0x8E, 0xD8,             // mov ds, ax
    });
    m.gpr(Gpr::EAX) = kLdtSelector;
    m.run(3);
    EXPECT_EQ(m.seg(Seg::DS), segment_cache(0x0C, 0x50000, 0xFFFF, 0x4093));
    EXPECT_EQ(m.read8(0x4008 + 5), 0x93);
}

TEST(Sldt, ToReg16) {
    Machine m(Mode::Protected32);
    m.state().ldtr.selector = kLdtSelector;
    m.load_code({0x66, 0x0F, 0x00, 0xC0}); // sldt ax
    m.gpr(Gpr::EAX) = 0xFFFFFFFF;
    m.run(1);
    EXPECT_EQ(m.gpr(Gpr::EAX), 0xFFFF0000u | kLdtSelector);
}

// ---- LMSW / SMSW (SDM Vol. 2A LMSW, Vol. 2B SMSW)

TEST(Lmsw, SetsPeFromRealMode) {
    Machine m;
    m.load_code({0x0F, 0x01, 0xF0}); // lmsw ax
    m.gpr(Gpr::EAX) = 0x0001;
    m.run(1);
    EXPECT_EQ(m.state().cr0, uint64_t{cr0::PE | cr0::ET});
    EXPECT_TRUE(m.state().protected_mode());
}

TEST(Lmsw, CannotClearPe) {
    // SDM LMSW: "the instruction cannot be used to switch back to real-address mode".
    Machine m(Mode::Protected32);
    m.load_code({0x0F, 0x01, 0xF0}); // lmsw ax
    m.gpr(Gpr::EAX) = 0x000E;        // PE = 0, MP = EM = TS = 1
    m.run(1);
    EXPECT_EQ(m.state().cr0, uint64_t{cr0::PE | cr0::MP | cr0::EM | cr0::TS | cr0::ET});
}

TEST(Lmsw, LoadsOnlyTheLowFourBits) {
    // SDM LMSW: only PE, MP, EM, TS load; ET, NE, WP, AM, NW, CD, PG are unaffected.
    Machine m;
    m.state().cr0 = cr0::CD | cr0::NW | cr0::ET | cr0::TS | cr0::EM | cr0::MP;
    m.load_code({0x0F, 0x01, 0xF0}); // lmsw ax
    m.gpr(Gpr::EAX) = 0xFFF0;
    m.run(1);
    EXPECT_EQ(m.state().cr0, uint64_t{cr0::CD | cr0::NW | cr0::ET});
}

TEST(Smsw, Reg16StoresTheLowWordOfCr0) {
    Machine m(Mode::Protected32);
    m.state().cr0 = cr0::CD | cr0::NW | cr0::ET | cr0::PE;
    m.load_code({0x66, 0x0F, 0x01, 0xE0}); // smsw ax
    m.gpr(Gpr::EAX) = 0xAAAAAAAA;
    m.run(1);
    EXPECT_EQ(m.gpr(Gpr::EAX), 0xAAAA0011u);
}

TEST(Smsw, Mem16) {
    Machine m;
    m.state().cr0 = cr0::CD | cr0::ET | cr0::TS;
    m.write32(0x2000, 0xAAAAAAAA);
    m.load_code({0x0F, 0x01, 0x26, 0x00, 0x20}); // smsw [0x2000]
    m.run(1);
    EXPECT_EQ(m.read32(0x2000), 0xAAAA0018u);
}

// ---- MOV to/from CR0 (SDM Vol. 2B MOV—Move to/from Control Registers; Vol. 3A 2.5)

TEST(MovToCr0, ForcesEtToOne) {
    // SDM Vol. 3A 2.5: ET is hardcoded to 1 on P6 family and later processors.
    Machine m;
    m.load_code({0x0F, 0x22, 0xC0}); // mov cr0, eax
    m.gpr(Gpr::EAX) = cr0::CD | cr0::NW;
    m.run(1);
    EXPECT_EQ(m.state().cr0, uint64_t{cr0::CD | cr0::NW | cr0::ET});
}

TEST(MovFromCr0, ReadsCr0) {
    Machine m;
    m.state().cr0 = cr0::CD | cr0::NW | cr0::ET;
    m.load_code({0x0F, 0x20, 0xC0}); // mov eax, cr0
    m.run(1);
    EXPECT_EQ(m.gpr(Gpr::EAX), 0x60000010u);
}

TEST(MovToCr0, PgWithoutPeRaisesGP0) {
    Machine m(Mode::Protected32);
    m.load_code({0x0F, 0x22, 0xC0}); // mov cr0, eax
    m.gpr(Gpr::EAX) = cr0::PG | cr0::ET;
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, 0));
    EXPECT_EQ(m.state().cr0, uint64_t{cr0::PE | cr0::ET});
}

TEST(MovToCr0, NwWithoutCdRaisesGP0) {
    Machine m(Mode::Protected32);
    m.load_code({0x0F, 0x22, 0xC0}); // mov cr0, eax
    m.gpr(Gpr::EAX) = cr0::NW | cr0::ET | cr0::PE;
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, 0));
}

TEST(MovToCr0, Cpl3RaisesGP0) {
    Machine m(Mode::Protected32);
    m.drop_to_cpl3();
    m.load_code({0x0F, 0x22, 0xC0}); // mov cr0, eax
    m.gpr(Gpr::EAX) = cr0::PE | cr0::ET;
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, 0));
}

TEST(MovToCr0, PeSwitchKeepsSixteenBitDecodingUntilCsIsReloaded) {
    // SDM Vol. 3A "Switching to Protected Mode": after MOV CR0 sets PE, execution continues with
    // the old CS cache (D = 0) until a far JMP/CALL reloads CS.
    Machine m;
    m.load_code({
        0x0F, 0x22, 0xC0, // mov cr0, eax
        0xB8, 0x34, 0x12, // mov ax, 0x1234 (16-bit code)
    });
    m.gpr(Gpr::EAX) = cr0::PE | cr0::ET;
    m.run(2);
    EXPECT_TRUE(m.state().protected_mode());
    EXPECT_EQ(m.gpr(Gpr::EAX), 0x00001234u);
    EXPECT_EQ(m.eip(), kCode + 6);
}

TEST(MovToCr0, FarJumpAfterPeSwitchMakesTheNextInstructionThirtyTwoBit) {
    // After the far jump CS.D = 1: B8 is mov eax, imm32 (5 bytes), not mov ax, imm16.
    Machine m;
    load_protected_mode_entry(m);
    m.gpr(Gpr::EAX) = 0;
    const Exit e = m.run(6);
    EXPECT_EQ(e.reason, ExitReason::Budget);
    EXPECT_EQ(m.gpr(Gpr::EAX), 0x12345678u);
    EXPECT_EQ(m.eip(), kPeSwitchJumpTarget + 5);
}

// ---- Flag instructions (SDM Vol. 2A CLC, CLD, CLI, CMC; Vol. 2B STC, STD, STI, LAHF, SAHF)

TEST(Clc, ClearsCarry) {
    Machine m;
    m.load_code({0xF8}); // clc
    m.state().eflags = flags::Fixed1 | flags::Status;
    m.run(1);
    EXPECT_EQ(m.state().eflags, flags::Fixed1 | (flags::Status & ~flags::CF));
}

TEST(Stc, SetsCarry) {
    Machine m;
    m.load_code({0xF9}); // stc
    m.run(1);
    EXPECT_EQ(m.state().eflags, flags::Fixed1 | flags::CF);
}

TEST(Cmc, ComplementsCarry) {
    Machine m;
    m.load_code({0xF5, 0xF5}); // cmc ; cmc
    m.run(1);
    EXPECT_EQ(m.state().eflags, flags::Fixed1 | flags::CF);
    m.run(1);
    EXPECT_EQ(m.state().eflags, flags::Fixed1);
}

TEST(Std, SetsDirection) {
    Machine m;
    m.load_code({0xFD}); // std
    m.run(1);
    EXPECT_EQ(m.state().eflags, flags::Fixed1 | flags::DF);
}

TEST(Cld, ClearsDirection) {
    Machine m;
    m.load_code({0xFC}); // cld
    m.state().eflags |= flags::DF;
    m.run(1);
    EXPECT_EQ(m.state().eflags, flags::Fixed1);
}

TEST(Cli, ClearsInterruptFlag) {
    Machine m;
    m.load_code({0xFA}); // cli
    m.state().eflags |= flags::IF;
    m.run(1);
    EXPECT_EQ(m.state().eflags, flags::Fixed1);
}

TEST(Cli, Cpl3AboveIoplRaisesGP0) {
    // SDM CLI, protected mode: IOPL < CPL (and no PVI) -> #GP(0).
    Machine m(Mode::Protected32);
    m.drop_to_cpl3();
    m.state().eflags |= flags::IF;
    m.load_code({0xFA}); // cli
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, 0));
    EXPECT_TRUE(m.state().eflags & flags::IF);
}

TEST(Sti, SetsBlockingByStiForOneInstruction) {
    // SDM STI: with IF = 0, interrupts stay inhibited until after the next instruction (VMX:
    // blocking by STI, SDM Vol. 3C Table 24-3).
    Machine m;
    m.load_code({0xFB, 0x90}); // sti ; nop
    m.run(1);
    EXPECT_TRUE(m.state().eflags & flags::IF);
    EXPECT_EQ(m.state().interruptibility, interruptibility::BlockingBySti);
    m.run(1);
    EXPECT_EQ(m.state().interruptibility, 0u);
}

TEST(Sti, WithInterruptsAlreadyEnabledSetsNoShadow) {
    // SDM Vol. 3C 24.4.2: blocking by STI follows STI executed with RFLAGS.IF = 0.
    Machine m;
    m.load_code({0xFB}); // sti
    m.state().eflags |= flags::IF;
    m.run(1);
    EXPECT_EQ(m.state().interruptibility, 0u);
}

TEST(Lahf, LoadsAhFromTheLowFlagsByte) {
    Machine m;
    m.load_code({0x9F}); // lahf
    m.state().eflags = flags::Fixed1 | flags::Status;
    m.run(1);
    EXPECT_EQ(m.gpr(Gpr::EAX), 0xD700u); // SF ZF 0 AF 0 PF 1 CF
}

TEST(Sahf, StoresAhIntoSfZfAfPfCf) {
    Machine m;
    m.load_code({0x9E}); // sahf
    m.gpr(Gpr::EAX) = 0xFF00;
    m.run(1);
    EXPECT_EQ(m.state().eflags, flags::Fixed1 | (flags::Status & ~flags::OF));
}

// ---- HLT (SDM Vol. 2A HLT: resumes at the instruction after HLT)

TEST(Hlt, ExitsWithEipPastTheHlt) {
    Machine m;
    m.load_code({0xF4}); // hlt
    const Exit e = m.run(10);
    EXPECT_EQ(e.reason, ExitReason::Halt);
    EXPECT_EQ(e.instructions, 1u);
    EXPECT_EQ(m.eip(), kCode + 1);
}

TEST(Hlt, Cpl3RaisesGP0) {
    Machine m(Mode::Protected32);
    m.drop_to_cpl3();
    m.load_code({0xF4}); // hlt
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, 0));
}

// ---- INVLPG (SDM INVLPG: #GP(0) unless CPL 0; with paging off there is no TLB to flush and
// the operand is not accessed, so an address beyond the segment limit does not fault)

TEST(Invlpg, RealModeIsANoOp) {
    Machine m;
    m.load_code({0x0F, 0x01, 0x3E, 0xFF, 0xFF}); // invlpg [0xffff]
    EXPECT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.eip(), kCode + 5);
}

TEST(Invlpg, Cpl3RaisesGP0) {
    Machine m(Mode::Protected32);
    m.drop_to_cpl3();
    m.load_code({0x0F, 0x01, 0x38}); // invlpg [eax]
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, 0));
}

// ---- LFENCE, MFENCE (SSE2), SFENCE (SSE): #UD where CPUID does not report them (SDM Vol. 2A
// LFENCE, Vol. 2B MFENCE, SFENCE); otherwise they retire, changing nothing architectural

TEST(Fence, DefaultModelWithoutSseRaisesUd) {
    for (const uint8_t modrm : std::initializer_list<uint8_t>{0xE8, 0xF0, 0xF8}) {
        Machine m;
        m.exceptions_to_host = true;
        m.load_code({0x0F, 0xAE, modrm});
        EXPECT_TRUE(is_exception(m.run(1), vec::kUD)) << int{modrm};
    }
}

TEST(Fence, RetiresWhereCpuidReportsIt) {
    for (const uint8_t modrm : std::initializer_list<uint8_t>{0xE8, 0xF0, 0xF8}) {
        Machine m;
        CpuModel model;
        model.features_edx |= modrm == 0xF8 ? cpuid_edx::SSE : cpuid_edx::SSE2;
        m.emulator().set_cpu_model(model);
        m.load_code({0x0F, 0xAE, modrm});
        EXPECT_EQ(m.run(1).reason, ExitReason::Budget) << int{modrm};
        EXPECT_EQ(m.eip(), kCode + 3);
    }
}

} // namespace transit86::test
