// UnicornRunner: see unicorn_runner.hpp for the Unicorn 2.0.1 behaviour this code is shaped around.
#include "oracle/unicorn_runner.hpp"

#include "decoder/decoder.hpp"
#include "oracle/unicorn_api.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace transit86::oracle {

namespace {

constexpr uint64_t kPageSize = 4096;

// Unicorn, loaded on first use: every path here starts in create() or a probe, which return
// early when it cannot be loaded.
const UnicornApi& api() {
    return *unicorn_api();
}

constexpr std::array<int, 8> kGprIds = {UC_X86_REG_EAX, UC_X86_REG_ECX, UC_X86_REG_EDX,
                                        UC_X86_REG_EBX, UC_X86_REG_ESP, UC_X86_REG_EBP,
                                        UC_X86_REG_ESI, UC_X86_REG_EDI}; // ModRM order
constexpr std::array<int, kNumSegs> kSegIds = {UC_X86_REG_ES, UC_X86_REG_CS, UC_X86_REG_SS,
                                               UC_X86_REG_DS, UC_X86_REG_FS, UC_X86_REG_GS};
constexpr std::array<int, 4> kDebugIds = {UC_X86_REG_DR0, UC_X86_REG_DR1, UC_X86_REG_DR2,
                                          UC_X86_REG_DR3};

// Register values go through 64-bit buffers: Unicorn 2.0.1 reads and writes the width it
// chooses for each register and mode, and a zeroed uint64_t takes any of them (little endian).
uint64_t read_reg(uc_engine* uc, int id) {
    uint64_t value = 0;
    api().reg_read(uc, id, &value);
    return value;
}

uc_err write_reg(uc_engine* uc, int id, uint64_t value) {
    return api().reg_write(uc, id, &value);
}

bool is_string_op(decoder::Op op) {
    using decoder::Op;
    switch (op) {
    case Op::Movs:
    case Op::Cmps:
    case Op::Stos:
    case Op::Lods:
    case Op::Scas:
    case Op::Ins:
    case Op::Outs: return true;
    default: return false;
    }
}

// Control transfers, whose target may be the instruction itself ("jmp $").
bool may_branch_to_itself(decoder::Op op) {
    using decoder::Op;
    switch (op) {
    case Op::Jmp:
    case Op::JmpFar:
    case Op::Jcc:
    case Op::Call:
    case Op::CallFar:
    case Op::Ret:
    case Op::RetFar:
    case Op::Loop:
    case Op::Loope:
    case Op::Loopne:
    case Op::Jcxz:
    case Op::Iret:
    case Op::Int:
    case Op::Int3:
    case Op::Into: return true;
    default: return false;
    }
}

// Encodings Unicorn 2.0.1 cannot translate without aborting (unicorn_runner.hpp): FF /3 and
// FF /5 with a register operand, LOCK CMP (38, 39) and LOCK CMPS (A6, A7).
bool is_fatal_encoding(const uint8_t* b, size_t available) {
    bool lock = false;
    size_t i = 0;
    for (; i < available && i < 15; ++i) {
        const uint8_t p = b[i];
        if (p == 0xF0)
            lock = true;
        else if (p != 0x66 && p != 0x67 && p != 0xF2 && p != 0xF3 && p != 0x26 && p != 0x2E &&
                 p != 0x36 && p != 0x3E && p != 0x64 && p != 0x65)
            break;
    }
    if (i >= available) return false;
    const uint8_t op = b[i];
    if (lock && (op == 0x38 || op == 0x39 || op == 0xA6 || op == 0xA7)) return true;
    if (op != 0xFF || i + 1 >= available) return false;
    const uint8_t modrm = b[i + 1];
    const uint8_t reg = (modrm >> 3) & 7;
    return (modrm >> 6) == 3 && (reg == 3 || reg == 5);
}

// Operations after which QEMU ends a translation block.
bool ends_block(decoder::Op op) {
    return may_branch_to_itself(op) || op == decoder::Op::Hlt || op == decoder::Op::Ud2;
}

// A descriptor from the GDT as the VMCS-format cache it loads (SDM Vol. 3A 3.4.5).
SegmentCache cache_from_descriptor(uint64_t d, uint16_t selector) {
    SegmentCache c;
    c.selector = selector;
    c.base = ((d >> 16) & 0xFFFFFF) | (((d >> 56) & 0xFF) << 24);
    uint32_t limit = static_cast<uint32_t>((d & 0xFFFF) | (((d >> 48) & 0xF) << 16));
    const auto access = static_cast<uint32_t>((d >> 40) & 0xFF);
    const auto flags4 = static_cast<uint32_t>((d >> 52) & 0xF);
    c.access_rights = access | (flags4 << 12);
    if ((c.access_rights & ar::kG) != 0) limit = (limit << 12) | 0xFFF;
    c.limit = limit;
    return c;
}

// QEMU keeps a segment's attributes as the descriptor's high doubleword (SegmentCache.flags:
// type..P in bits 15:8, AVL/L/D/G in 23:20); VMCS access rights hold them in 7:0 and 15:12.
// A cache with P = 0 is the null/unusable one QEMU loads for a null selector.
uint32_t qemu_flags_from_ar(uint32_t access_rights) {
    if (ar::unusable(access_rights)) return 0;
    return (access_rights & 0xF0FF) << 8;
}

SegmentCache cache_from_qemu(uint16_t selector, uint64_t base, uint32_t limit, uint32_t flags) {
    SegmentCache c;
    c.selector = selector;
    c.base = base;
    c.limit = limit;
    c.access_rights = (flags >> 8) & 0xF0FF;
    if ((c.access_rights & ar::kP) == 0) c.access_rights = ar::kUnusable;
    return c;
}

// QEMU's CPUX86State (the x86_64 target Unicorn builds for every x86 mode) starts with
// target_ulong regs[16], eip, eflags, cc_dst, cc_src, cc_src2, four 32-bit words, then
// SegmentCache segs[6], ldt, tr: { uint32 selector; target_ulong base; uint32 limit, flags }.
constexpr size_t kEnvEip = 16 * 8, kEnvSegs = 23 * 8, kEnvSegSize = 24;

struct QemuSegment {
    uint32_t selector;
    uint64_t base;
    uint32_t limit;
    uint32_t flags;
};

QemuSegment qemu_segment(const uint8_t* env, int index) {
    const uint8_t* p = env + kEnvSegs + kEnvSegSize * static_cast<size_t>(index);
    QemuSegment q{};
    std::memcpy(&q.selector, p, 4);
    std::memcpy(&q.base, p + 8, 8);
    std::memcpy(&q.limit, p + 16, 4);
    std::memcpy(&q.flags, p + 20, 4);
    return q;
}

// Where QEMU's env->error_code sits in a saved uc_context: found once by making a scratch
// engine raise #GP with two known selector error codes and taking the one offset holding both.
void stop_at_interrupt(uc_engine* uc, uint32_t, void*) {
    api().emu_stop(uc);
}

std::optional<size_t> find_error_code_offset() {
    uc_engine* uc = nullptr;
    if (unicorn_api() == nullptr || api().open(UC_ARCH_X86, UC_MODE_32, &uc) != UC_ERR_OK)
        return std::nullopt;
    std::optional<size_t> found;
    uc_context* ctx = nullptr;
    uc_hook hook{};
    const uint64_t gdt[] = {0, 0x00CF9A000000FFFFull, 0x00CF92000000FFFFull};
    const uint8_t mov_ds_ax[] = {0x8E, 0xD8};
    uc_x86_mmr gdtr{};
    gdtr.base = 0x100;
    gdtr.limit = sizeof gdt - 1;
    bool ok = api().mem_map(uc, 0, 0x10000, UC_PROT_ALL) == UC_ERR_OK &&
              api().mem_write(uc, 0x100, gdt, sizeof gdt) == UC_ERR_OK &&
              api().mem_write(uc, 0x1000, mov_ds_ax, sizeof mov_ds_ax) == UC_ERR_OK &&
              api().reg_write(uc, UC_X86_REG_GDTR, &gdtr) == UC_ERR_OK &&
              write_reg(uc, UC_X86_REG_CS, 0x08) == UC_ERR_OK &&
              write_reg(uc, UC_X86_REG_SS, 0x10) == UC_ERR_OK &&
              write_reg(uc, UC_X86_REG_ESP, 0x8000) == UC_ERR_OK &&
              api().hook_add(uc, &hook, UC_HOOK_INTR, reinterpret_cast<void*>(&stop_at_interrupt),
                             nullptr, 1, 0) == UC_ERR_OK &&
              api().context_alloc(uc, &ctx) == UC_ERR_OK;
    std::vector<size_t> candidates;
    bool first = true;
    for (const uint32_t selector : {0x1230u, 0x2348u}) {
        ok = ok && write_reg(uc, UC_X86_REG_EAX, selector) == UC_ERR_OK &&
             api().emu_start(uc, 0x1000, UINT64_MAX, 0, 1) == UC_ERR_OK &&
             api().context_save(uc, ctx) == UC_ERR_OK;
        if (!ok) break;
        const auto* raw = reinterpret_cast<const uint8_t*>(ctx);
        std::vector<size_t> next;
        for (size_t at = 0; at + 4 <= api().context_size(uc); at += 4) {
            uint32_t v;
            std::memcpy(&v, raw + at, 4);
            if (v == selector &&
                (first || std::find(candidates.begin(), candidates.end(), at) != candidates.end()))
                next.push_back(at);
        }
        candidates = std::move(next);
        first = false;
    }
    if (ok && candidates.size() == 1) found = candidates.front();
    if (ctx != nullptr) api().context_free(ctx);
    api().close(uc);
    return found;
}

// A read through a one-entry page table that maps linear 400000H to physical 20000H, with
// paging enabled: a Unicorn that translates reads the marker, one that identity-maps finds
// nothing mapped at 400000H.
bool probe_paging() {
    uc_engine* uc = nullptr;
    if (unicorn_api() == nullptr || api().open(UC_ARCH_X86, UC_MODE_32, &uc) != UC_ERR_OK)
        return false;
    std::vector<uint8_t> ram(0x30000);
    auto put32 = [&](uint32_t at, uint32_t v) { std::memcpy(&ram[at], &v, 4); };
    put32(0x10000, 0x11000 | 3);        // PDE 0: identity table
    for (uint32_t i = 0; i < 0x30; ++i) // identity 0..2FFFFH
        put32(0x11000 + i * 4, (i << 12) | 3);
    put32(0x10004, 0x12000 | 3); // PDE 1 -> PT at 12000H
    put32(0x12000, 0x20000 | 3); // 400000H -> 20000H
    put32(0x20000, 0x5AFE5AFE);
    const uint8_t load[] = {0xA1, 0x00, 0x00, 0x40, 0x00}; // mov eax, [0x400000]
    std::memcpy(&ram[0x1000], load, sizeof load);
    bool ok = api().mem_map_ptr(uc, 0, ram.size(), UC_PROT_ALL, ram.data()) == UC_ERR_OK &&
              write_reg(uc, UC_X86_REG_CR3, 0x10000) == UC_ERR_OK &&
              write_reg(uc, UC_X86_REG_CR0, 0x80000011) == UC_ERR_OK &&
              api().emu_start(uc, 0x1000, UINT64_MAX, 0, 1) == UC_ERR_OK;
    ok = ok && read_reg(uc, UC_X86_REG_EAX) == 0x5AFE5AFE;
    api().close(uc);
    return ok;
}

bool has_error_code(uint8_t vector) {
    return vector == 8 || (vector >= 10 && vector <= 14) || vector == 17;
}

} // namespace

// The C callbacks Unicorn calls; user_data is the UnicornRunner.
struct UnicornHooks {
    static void on_interrupt(uc_engine* uc, uint32_t intno, void* user) {
        auto* self = static_cast<UnicornRunner*>(user);
        if (!self->record_.vector) self->record_.vector = static_cast<uint8_t>(intno);
        api().emu_stop(uc);
    }
    static bool on_invalid_memory(uc_engine*, uc_mem_type type, uint64_t address, int size, int64_t,
                                  void* user) {
        auto* self = static_cast<UnicornRunner*>(user);
        UnicornMemoryFault fault;
        fault.address = address;
        fault.size = static_cast<uint32_t>(size);
        fault.write = type == UC_MEM_WRITE_UNMAPPED || type == UC_MEM_WRITE_PROT;
        fault.fetch = type == UC_MEM_FETCH_UNMAPPED || type == UC_MEM_FETCH_PROT;
        if (!self->record_.memory_fault) self->record_.memory_fault = fault;
        return false; // stop: uc_emu_start fails with UC_ERR_*_UNMAPPED
    }
    static uint32_t on_in(uc_engine*, uint32_t port, int size, void* user) {
        auto* self = static_cast<UnicornRunner*>(user);
        return self->port_in(static_cast<uint16_t>(port), static_cast<uint8_t>(size));
    }
    static void on_out(uc_engine*, uint32_t port, int size, uint32_t value, void* user) {
        auto* self = static_cast<UnicornRunner*>(user);
        PortAccess access;
        access.port = static_cast<uint16_t>(port);
        access.size = static_cast<uint8_t>(size);
        access.in = false;
        access.count = 1;
        for (int b = 0; b < size; ++b)
            access.data.push_back(static_cast<uint8_t>(value >> (8 * b)));
        self->record_.io.push_back(std::move(access));
    }
};

struct UnicornRunner::Engine {
    uc_engine* uc = nullptr;
    uc_context* reset = nullptr; // saved right after opening: clears QEMU's pending exception
    uc_context* probe = nullptr; // read_hidden(): a copy of the CPU state to read caches from
    bool protected_mode = false;

    Engine() = default;
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;
    ~Engine() {
        if (reset != nullptr) api().context_free(reset);
        if (probe != nullptr) api().context_free(probe);
        if (uc != nullptr) api().close(uc);
    }
};

CpuState real_mode_at_zero(uint32_t eip, uint32_t esp) {
    CpuState state = reset_state(ResetPreset::Kvm);
    for (auto& seg : state.seg)
        seg = SegmentCache{.base = 0, .limit = 0xFFFF, .access_rights = 0x93, .selector = 0};
    state[Seg::CS].access_rights = 0x9B;
    state.eip = eip;
    state[Gpr::ESP] = esp;
    state.cr0 = 0x10 | cr0::NE;
    state.idtr = {.base = 0, .limit = 0x3FF};
    return state;
}

std::string hex_bytes(const uint8_t* bytes, size_t count) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string text;
    text.reserve(2 * count);
    for (size_t i = 0; i < count; ++i) {
        text += kDigits[bytes[i] >> 4];
        text += kDigits[bytes[i] & 15];
    }
    return text;
}

const char* to_string(UnicornStepReason reason) {
    switch (reason) {
    case UnicornStepReason::Step: return "Step";
    case UnicornStepReason::Io: return "Io";
    case UnicornStepReason::Hlt: return "Hlt";
    case UnicornStepReason::Exception: return "Exception";
    case UnicornStepReason::InvalidMemory: return "InvalidMemory";
    case UnicornStepReason::Error: return "Error";
    case UnicornStepReason::Refused: return "Refused";
    }
    return "?";
}

UnicornRunner::UnicornRunner(const UnicornOptions& options) : options_(options) {
    port_input_ = [](uint16_t, uint8_t) { return 0xFFFFFFFFu; };
}

UnicornRunner::~UnicornRunner() {
    real_.reset();
    protected_.reset();
    if (ram_ != nullptr) ::munmap(ram_, ram_size_);
}

std::unique_ptr<UnicornRunner> UnicornRunner::create(const UnicornOptions& options,
                                                     std::string* error) {
    auto fail = [&](const std::string& why) {
        if (error != nullptr) *error = why;
        return std::unique_ptr<UnicornRunner>();
    };
    if (options.memory_size == 0 || options.memory_size % kPageSize != 0)
        return fail("memory_size must be a non-zero multiple of 4 KiB");
    std::string not_loaded;
    if (unicorn_api(&not_loaded) == nullptr) return fail(not_loaded);
    std::unique_ptr<UnicornRunner> runner(new UnicornRunner(options));
    void* ram = ::mmap(nullptr, options.memory_size, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (ram == MAP_FAILED) return fail("mmap of guest RAM failed");
    runner->ram_ = static_cast<uint8_t*>(ram);
    runner->ram_size_ = options.memory_size;
    return runner;
}

bool UnicornRunner::load(uint64_t gpa, std::span<const uint8_t> bytes) {
    if (gpa > ram_size_ || bytes.size() > ram_size_ - gpa) return false;
    if (bytes.empty()) return true;
    std::memcpy(ram_ + gpa, bytes.data(), bytes.size());
    code_changed(gpa, gpa + bytes.size());
    return true;
}

bool UnicornRunner::read(uint64_t gpa, std::span<uint8_t> out) const {
    if (gpa > ram_size_ || out.size() > ram_size_ - gpa) return false;
    if (!out.empty()) std::memcpy(out.data(), ram_ + gpa, out.size());
    return true;
}

void UnicornRunner::code_changed(uint64_t begin, uint64_t end) {
    end = std::min(end, ram_size_);
    if (begin >= end) return;
    // UC_CTL_TB_REMOVE_CACHE costs about 40 us per 2 MiB; UC_CTL_TB_FLUSH (uc_ctl_flush_tlb)
    // about 80 ms a call in 2.0.1.
    for (Engine* e : {real_.get(), protected_.get()})
        if (e != nullptr) api().ctl(e->uc, UC_CTL_WRITE(UC_CTL_TB_REMOVE_CACHE, 2), begin, end);
}

uint32_t UnicornRunner::port_in(uint16_t port, uint8_t size) {
    const uint32_t value = port_input_(port, size);
    PortAccess access;
    access.port = port;
    access.size = size;
    access.in = true;
    access.count = 1;
    for (uint8_t b = 0; b < size; ++b)
        access.data.push_back(static_cast<uint8_t>(value >> (8 * b)));
    record_.io.push_back(std::move(access));
    return value;
}

UnicornRunner::Engine* UnicornRunner::engine_for(bool protected_mode, std::string& error) {
    std::unique_ptr<Engine>& slot = protected_mode ? protected_ : real_;
    if (slot != nullptr) return slot.get();
    auto engine = std::make_unique<Engine>();
    engine->protected_mode = protected_mode;
    uc_err err = api().open(UC_ARCH_X86, protected_mode ? UC_MODE_32 : UC_MODE_16, &engine->uc);
    if (err != UC_ERR_OK) {
        engine->uc = nullptr;
        error = std::string("uc_open: ") + api().strerror(err);
        return nullptr;
    }
    uc_engine* uc = engine->uc;
    err = api().mem_map_ptr(uc, 0, ram_size_, UC_PROT_ALL, ram_);
    uc_hook hook{};
    if (err == UC_ERR_OK)
        err = api().hook_add(uc, &hook, UC_HOOK_INTR,
                             reinterpret_cast<void*>(&UnicornHooks::on_interrupt), this, 1, 0);
    if (err == UC_ERR_OK)
        err = api().hook_add(uc, &hook, UC_HOOK_MEM_INVALID,
                             reinterpret_cast<void*>(&UnicornHooks::on_invalid_memory), this, 1, 0);
    if (err == UC_ERR_OK)
        err = api().hook_add(uc, &hook, UC_HOOK_INSN, reinterpret_cast<void*>(&UnicornHooks::on_in),
                             this, 1, 0, UC_X86_INS_IN);
    if (err == UC_ERR_OK)
        err =
            api().hook_add(uc, &hook, UC_HOOK_INSN, reinterpret_cast<void*>(&UnicornHooks::on_out),
                           this, 1, 0, UC_X86_INS_OUT);
    if (err == UC_ERR_OK) err = api().context_alloc(uc, &engine->reset);
    if (err == UC_ERR_OK) err = api().context_save(uc, engine->reset);
    if (err == UC_ERR_OK) err = api().context_alloc(uc, &engine->probe);
    if (err != UC_ERR_OK) {
        error = std::string("setting up the Unicorn engine: ") + api().strerror(err);
        return nullptr;
    }
    slot = std::move(engine);
    return slot.get();
}

// UC_MODE_32 loads the caches from the guest GDT: they must be the ones the state describes.
bool UnicornRunner::check_descriptors(const CpuState& s, std::string& error) const {
    static constexpr const char* kNames[] = {"es", "cs", "ss", "ds", "fs", "gs"};
    for (int i = 0; i < kNumSegs; ++i) {
        const SegmentCache& want = s.seg[i];
        const auto seg = static_cast<Seg>(i);
        if ((want.selector & ~3) == 0 && seg != Seg::CS && seg != Seg::SS) continue; // null
        if (want.ti()) {
            error = std::string(kNames[i]) + ": LDT selectors are not supported";
            return false;
        }
        const uint64_t offset = want.selector & ~7u;
        uint64_t d = 0;
        if (offset + 7 > s.gdtr.limit ||
            !read(s.gdtr.base + offset, {reinterpret_cast<uint8_t*>(&d), sizeof d})) {
            error = std::string(kNames[i]) + ": selector outside the GDT";
            return false;
        }
        const SegmentCache got = cache_from_descriptor(d, want.selector);
        // Loading sets the accessed bit (in memory too, as the CPU does), so it may differ.
        const uint32_t mask = ~(ar::kAccessed | ar::kUnusable);
        if (got.base != want.base || got.limit != want.limit ||
            (got.access_rights & mask) != (want.access_rights & mask)) {
            error = std::string(kNames[i]) + ": the GDT descriptor differs from the state's cache";
            return false;
        }
    }
    return true;
}

bool UnicornRunner::set_state(const CpuState& s, std::string* error) {
    std::string why;
    auto fail = [&](const std::string& text) {
        if (error != nullptr) *error = text;
        return false;
    };
    const bool pm = s.protected_mode();
    if (s.v86()) return fail("Unicorn runner: no virtual-8086 starting state");
    const bool paging = (s.cr0 & cr0::PG) != 0;
    if (paging && (s.cr4 & cr4::PAE) != 0) { // QEMU reads the PDPTEs at every walk
        std::array<uint64_t, 4> table{};
        if (!read(s.cr3 & 0xFFFFFFE0u, {reinterpret_cast<uint8_t*>(table.data()), 32}) ||
            table != s.pdpte)
            return fail("Unicorn runner: the PDPTE registers differ from the table at CR3");
    }
    if (!pm) {
        for (const SegmentCache& c : s.seg)
            if (c.base != uint64_t{c.selector} * 16 || c.limit != 0xFFFF)
                return fail("Unicorn cannot import hidden segment caches (real mode needs base = "
                            "selector * 16, limit 0xFFFF)");
    } else if (!ar::db(s[Seg::CS].access_rights) || s[Seg::CS].base != 0) {
        return fail("Unicorn runner: protected mode needs a 32-bit CS with base 0");
    }
    Engine* engine = engine_for(pm, why);
    if (engine == nullptr) return fail(why);
    uc_engine* uc = engine->uc;
    uc_err err = api().context_restore(uc, engine->reset);
    code_changed();

    uc_x86_mmr gdtr{};
    gdtr.base = s.gdtr.base;
    gdtr.limit = s.gdtr.limit;
    uc_x86_mmr idtr{};
    idtr.base = s.idtr.base;
    idtr.limit = s.idtr.limit;
    if (err == UC_ERR_OK) err = api().reg_write(uc, UC_X86_REG_GDTR, &gdtr);
    if (err == UC_ERR_OK) err = api().reg_write(uc, UC_X86_REG_IDTR, &idtr);
    // Paging's inputs before CR0 sets PG (the segment loads below then read the GDT through
    // the guest's page tables, as the CPU would).
    uc_x86_msr efer{.rid = 0xC0000080, .value = s.efer};
    if (err == UC_ERR_OK) err = api().reg_write(uc, UC_X86_REG_MSR, &efer);
    if (err == UC_ERR_OK) err = write_reg(uc, UC_X86_REG_CR2, static_cast<uint32_t>(s.cr2));
    if (err == UC_ERR_OK) err = write_reg(uc, UC_X86_REG_CR3, static_cast<uint32_t>(s.cr3));
    if (err == UC_ERR_OK) err = write_reg(uc, UC_X86_REG_CR4, static_cast<uint32_t>(s.cr4));
    if (err == UC_ERR_OK) err = write_reg(uc, UC_X86_REG_CR0, static_cast<uint32_t>(s.cr0));
    if (err != UC_ERR_OK) return fail(std::string("control registers: ") + api().strerror(err));
    // Debug registers. An enabled instruction breakpoint (R/W = 00) makes Unicorn 2.0.1 crash
    // in its generated code (found by experiment; docs/known-differences.md), so such a DR7
    // is refused; data and I/O breakpoints load and are ignored.
    for (int n = 0; n < 4; ++n)
        if (dr7::enabled(s.dr7, n) && dr7::rw(s.dr7, n) == dr7::kExecute)
            return fail("an enabled instruction breakpoint in DR7 (Unicorn would crash)");
    for (int n = 0; n < 4 && err == UC_ERR_OK; ++n)
        err = write_reg(uc, kDebugIds[n], s.dr[n]);
    if (err == UC_ERR_OK) err = write_reg(uc, UC_X86_REG_DR6, s.dr6);
    if (err == UC_ERR_OK) err = write_reg(uc, UC_X86_REG_DR7, s.dr7);
    if (err != UC_ERR_OK) return fail(std::string("debug registers: ") + api().strerror(err));
    if (pm && !check_descriptors(s, why)) return fail(why);
    // CS first, then SS: protected-mode SS checks compare its DPL with CS's RPL (CPL).
    for (Seg seg : {Seg::CS, Seg::SS, Seg::DS, Seg::ES, Seg::FS, Seg::GS}) {
        const int i = static_cast<int>(seg);
        err = write_reg(uc, kSegIds[i], s.seg[i].selector);
        if (err != UC_ERR_OK) return fail(std::string("segment load: ") + api().strerror(err));
    }
    { // TR and LDTR take the whole cache as given (in real mode too: a boot window keeps them)
        uc_x86_mmr tr{};
        tr.selector = s.tr.selector;
        tr.base = s.tr.base;
        tr.limit = s.tr.limit;
        tr.flags = qemu_flags_from_ar(s.tr.access_rights);
        uc_x86_mmr ldtr{};
        ldtr.selector = s.ldtr.selector;
        ldtr.base = s.ldtr.base;
        ldtr.limit = s.ldtr.limit;
        ldtr.flags = qemu_flags_from_ar(s.ldtr.access_rights);
        err = api().reg_write(uc, UC_X86_REG_TR, &tr);
        if (err == UC_ERR_OK) err = api().reg_write(uc, UC_X86_REG_LDTR, &ldtr);
        if (err != UC_ERR_OK) return fail(std::string("TR/LDTR: ") + api().strerror(err));
    }
    for (int i = 0; i < 8; ++i)
        err = err == UC_ERR_OK ? write_reg(uc, kGprIds[i], s.gpr[i]) : err;
    if (err == UC_ERR_OK) err = write_reg(uc, UC_X86_REG_EFLAGS, s.eflags);
    if (err != UC_ERR_OK) return fail(std::string("registers: ") + api().strerror(err));
    current_ = engine;
    given_ = s;
    eip_ = s.eip;
    return true;
}

bool UnicornRunner::models_paging() {
    static const bool translates = probe_paging();
    return translates;
}

void UnicornRunner::copy_unobservable(const CpuState& from, CpuState& to) {
    for (int i = 0; i < kNumSegs; ++i) {
        const uint16_t selector = to.seg[i].selector;
        to.seg[i] = from.seg[i];
        to.seg[i].selector = selector;
    }
    to.ldtr = from.ldtr;
    to.tr = from.tr;
    to.efer = from.efer;
    to.interruptibility = from.interruptibility;
    to.activity = from.activity;
}

CpuState UnicornRunner::state() const {
    CpuState s = given_;
    if (current_ == nullptr) return s;
    uc_engine* uc = current_->uc;
    for (int i = 0; i < 8; ++i)
        s.gpr[i] = static_cast<uint32_t>(read_reg(uc, kGprIds[i]));
    s.eip = eip_;
    s.eflags = static_cast<uint32_t>(read_reg(uc, UC_X86_REG_EFLAGS));
    for (int i = 0; i < kNumSegs; ++i)
        s.seg[i].selector = static_cast<uint16_t>(read_reg(uc, kSegIds[i]));
    uc_x86_mmr mmr{};
    if (api().reg_read(uc, UC_X86_REG_GDTR, &mmr) == UC_ERR_OK) s.gdtr = {mmr.base, mmr.limit};
    mmr = {};
    if (api().reg_read(uc, UC_X86_REG_IDTR, &mmr) == UC_ERR_OK) s.idtr = {mmr.base, mmr.limit};
    s.cr0 = static_cast<uint32_t>(read_reg(uc, UC_X86_REG_CR0));
    // Unicorn 2.0.1 (no paging) reads CR2 = FFFFFFFEH after any run, never a value the guest
    // made: CR2 is then the one given (unicorn_runner.hpp).
    if (models_paging()) s.cr2 = static_cast<uint32_t>(read_reg(uc, UC_X86_REG_CR2));
    s.cr3 = static_cast<uint32_t>(read_reg(uc, UC_X86_REG_CR3));
    s.cr4 = static_cast<uint32_t>(read_reg(uc, UC_X86_REG_CR4));
    for (int n = 0; n < 4; ++n)
        s.dr[n] = static_cast<uint32_t>(read_reg(uc, kDebugIds[n]));
    s.dr6 = static_cast<uint32_t>(read_reg(uc, UC_X86_REG_DR6));
    s.dr7 = static_cast<uint32_t>(read_reg(uc, UC_X86_REG_DR7));
    return s;
}

bool UnicornRunner::read_hidden(CpuState& s) const {
    if (current_ == nullptr) return false;
    uc_engine* uc = current_->uc;
    uc_x86_mmr mmr{};
    if (api().reg_read(uc, UC_X86_REG_TR, &mmr) == UC_ERR_OK)
        s.tr = cache_from_qemu(mmr.selector, mmr.base, mmr.limit, mmr.flags);
    mmr = {};
    if (api().reg_read(uc, UC_X86_REG_LDTR, &mmr) == UC_ERR_OK)
        s.ldtr = cache_from_qemu(mmr.selector, mmr.base, mmr.limit, mmr.flags);
    // The segment caches have no register id: find CPUX86State in a saved context (after the
    // uc_context header, whose size the API does not give) by the general registers, and
    // trust the layout only where EIP, the six selectors and TR read there match what
    // uc_reg_read says.
    if (api().context_save(uc, current_->probe) != UC_ERR_OK) return false;
    const size_t size = std::min<size_t>(api().context_size(uc), 4096);
    const auto* raw = reinterpret_cast<const uint8_t*>(current_->probe);
    const size_t need = kEnvSegs + 8 * kEnvSegSize;
    for (size_t at = 0; at + need <= size && at <= 256; at += 8) {
        const uint8_t* env = raw + at;
        bool match = true;
        for (int i = 0; i < 8 && match; ++i) {
            uint64_t value = 0;
            std::memcpy(&value, env + 8 * static_cast<size_t>(i), 8);
            match = value == read_reg(uc, kGprIds[i]);
        }
        uint64_t eip = 0;
        std::memcpy(&eip, env + kEnvEip, 8);
        match = match && eip == read_reg(uc, UC_X86_REG_EIP);
        for (int i = 0; i < kNumSegs && match; ++i)
            match = qemu_segment(env, i).selector == (read_reg(uc, kSegIds[i]) & 0xFFFF);
        const QemuSegment tr = qemu_segment(env, 7);
        match =
            match && tr.selector == s.tr.selector && tr.base == s.tr.base && tr.limit == s.tr.limit;
        if (!match) continue;
        for (int i = 0; i < kNumSegs; ++i) {
            const QemuSegment q = qemu_segment(env, i);
            s.seg[i] = cache_from_qemu(static_cast<uint16_t>(q.selector), q.base, q.limit, q.flags);
        }
        return true;
    }
    return false;
}

// EIP after uc_emu_start returned. `linear`: the stop was by the instruction count or an
// invalid access, where UC_MODE_16 reads back CS.selector * 16 + IP (unicorn_runner.hpp).
std::optional<uint64_t> UnicornRunner::fatal_encoding_ahead(uint64_t linear, bool pm, bool code32,
                                                            bool v86) const {
    const decoder::FetchMode mode{.protected_mode = pm, .code32 = code32, .v86 = v86};
    uint64_t at = linear;
    for (int n = 0; n < 512 && at < linear + 4096 + 15; ++n) {
        uint8_t bytes[15]{};
        size_t available = 0;
        for (; available < 15; ++available) {
            const std::optional<uint64_t> phys = code_physical((at + available) & 0xFFFFFFFF);
            if (!phys || *phys >= ram_size_) break;
            bytes[available] = ram_[*phys];
        }
        if (available == 0) return std::nullopt;
        if (is_fatal_encoding(bytes, available)) return at;
        decoder::Insn insn;
        if (decoder::decode(bytes, available, mode, insn) != decoder::DecodeStatus::Ok ||
            ends_block(insn.op))
            return std::nullopt;
        at += insn.length;
    }
    return std::nullopt;
}

uint32_t UnicornRunner::read_eip_after(bool linear) const {
    uc_engine* uc = current_->uc;
    auto eip = static_cast<uint32_t>(read_reg(uc, UC_X86_REG_EIP));
    // Virtual-8086 mode reads back like UC_MODE_16 (QEMU's TB pc is linear in both).
    const bool v86 = (read_reg(uc, UC_X86_REG_EFLAGS) & flags::VM) != 0;
    if (linear && (!current_->protected_mode || v86)) {
        const auto cs = static_cast<uint32_t>(read_reg(uc, UC_X86_REG_CS) & 0xFFFF);
        uint64_t base = uint64_t{cs} * 16;
        // The linear address is CS.base + EIP with the cached base, which is selector * 16
        // only until boot code loads CS in protected mode (and keeps that cache after it
        // clears PE, until a real-mode far jump).
        CpuState hidden = given_;
        if (!v86 && read_hidden(hidden)) base = hidden[Seg::CS].base;
        eip -= static_cast<uint32_t>(base);
    }
    return eip;
}

// The physical address of a code byte, by the guest's page tables as QEMU walks them (SDM
// Vol. 3A 4.3, 4.4.2; PDPTEs from memory), without touching accessed flags or checking
// rights: only to decode what Unicorn is about to run. nullopt when not present.
std::optional<uint64_t> UnicornRunner::code_physical(uint64_t linear) const {
    if (current_ == nullptr) return linear;
    uc_engine* uc = current_->uc;
    const uint64_t cr0 = read_reg(uc, UC_X86_REG_CR0);
    if ((cr0 & cr0::PG) == 0) return linear;
    const uint64_t cr3 = read_reg(uc, UC_X86_REG_CR3);
    const uint64_t cr4 = read_reg(uc, UC_X86_REG_CR4);
    auto entry = [&](uint64_t address, bool wide) -> std::optional<uint64_t> {
        uint64_t value = 0;
        if (!read(address, {reinterpret_cast<uint8_t*>(&value), wide ? 8u : 4u}) || !(value & 1))
            return std::nullopt;
        return value;
    };
    constexpr uint64_t kAddress = 0x000FFFFFFFFFF000ull;
    if (cr4 & cr4::PAE) {
        const auto pdpte = entry((cr3 & 0xFFFFFFE0u) + ((linear >> 30) & 3) * 8, true);
        if (!pdpte) return std::nullopt;
        const auto pde = entry((*pdpte & kAddress) + ((linear >> 21) & 0x1FF) * 8, true);
        if (!pde) return std::nullopt;
        if (*pde & 0x80) return (*pde & kAddress & ~0x1FFFFFull) | (linear & 0x1FFFFF);
        const auto pte = entry((*pde & kAddress) + ((linear >> 12) & 0x1FF) * 8, true);
        if (!pte) return std::nullopt;
        return (*pte & kAddress) | (linear & 0xFFF);
    }
    const auto pde = entry((cr3 & 0xFFFFF000u) + ((linear >> 22) & 0x3FF) * 4, false);
    if (!pde) return std::nullopt;
    if ((*pde & 0x80) && (cr4 & cr4::PSE)) return (*pde & 0xFFC00000u) | (linear & 0x3FFFFF);
    const auto pte = entry((*pde & 0xFFFFF000u) + ((linear >> 12) & 0x3FF) * 4, false);
    if (!pte) return std::nullopt;
    return (*pte & 0xFFFFF000u) | (linear & 0xFFF);
}

// The `begin` of uc_emu_start for the current EIP: linear in UC_MODE_16 (Unicorn subtracts
// CS.selector * 16), EIP itself in UC_MODE_32.
uint64_t UnicornRunner::begin_address() const {
    if (current_->protected_mode) return eip_;
    const uint64_t cs = read_reg(current_->uc, UC_X86_REG_CS) & 0xFFFF;
    return cs * 16 + eip_;
}

UnicornStepResult UnicornRunner::step() {
    UnicornStepResult result;
    if (current_ == nullptr) {
        result.error_text = "step() before set_state()";
        return result;
    }
    uc_engine* uc = current_->uc;
    // What is about to run: HLT and REP string instructions need special handling.
    CpuState before = state();
    // The 16-bit engine may have entered protected mode (MOV to CR0, far jump): its code is
    // then decoded by CR0.PE and the CS cache, read from QEMU's state.
    const bool entered_pm = !current_->protected_mode && (before.cr0 & cr0::PE) != 0;
    const bool pm = current_->protected_mode || entered_pm;
    // Virtual-8086 mode (entered by IRET or a task switch) runs 16-bit code at selector * 16.
    const bool v86 = pm && (before.eflags & flags::VM) != 0;
    uint64_t cs_base = pm && !v86 ? 0 : uint64_t{before[Seg::CS].selector} * 16;
    bool code32 = pm && !v86;
    if (entered_pm && !v86 && read_hidden(before)) {
        cs_base = before[Seg::CS].base;
        code32 = ar::db(before[Seg::CS].access_rights);
    }
    const uint64_t linear = (cs_base + before.eip) & 0xFFFFFFFF;
    decoder::Insn insn;
    uint8_t bytes[15]{};
    size_t available = 0;
    for (; available < 15; ++available) { // through the guest's page tables, byte by byte
        const std::optional<uint64_t> at = code_physical((linear + available) & 0xFFFFFFFF);
        if (!at || *at >= ram_size_) break;
        bytes[available] = ram_[*at];
    }
    const decoder::FetchMode mode{.protected_mode = pm, .code32 = code32, .v86 = v86};
    const bool decoded =
        available > 0 && decoder::decode(bytes, available, mode, insn) == decoder::DecodeStatus::Ok;
    const bool hlt = decoded && insn.op == decoder::Op::Hlt;
    const bool rep = decoded && is_string_op(insn.op) &&
                     (insn.prefixes & (decoder::prefix::Rep | decoder::prefix::Repne)) != 0;

    // The block at EIP, and the one a direct branch goes to: Unicorn translates that one too
    // before its instruction count stops it. (Indirect targets are not known here.)
    std::optional<uint64_t> fatal = fatal_encoding_ahead(linear, pm, mode.code32, v86);
    if (!fatal && decoded && insn.operand_count > 0 &&
        insn.operands[0].kind == decoder::OperandKind::Rel) {
        const uint32_t ip_mask = insn.operand_size == 2 ? 0xFFFF : 0xFFFFFFFF;
        const uint32_t target = (before.eip + insn.length + insn.operands[0].value) & ip_mask;
        fatal = fatal_encoding_ahead((cs_base + target) & 0xFFFFFFFF, pm, mode.code32, v86);
    }
    if (fatal) {
        result.reason = UnicornStepReason::Refused;
        result.error_text = "Unicorn 2.0.1 would abort translating the encoding at linear " +
                            std::to_string(*fatal);
        result.state = before;
        return result;
    }
    record_ = {};
    bool run_to_next = false; // run until the next instruction's address instead of counting
    // Counted runs give an `until` no instruction has: with until = 0, Unicorn would stop before
    // running anything at address 0 (begin == until).
    constexpr uint64_t kNoUntil = UINT64_MAX;
    for (;;) {
        const uint64_t begin = begin_address();
        const uc_err err = run_to_next ? api().emu_start(uc, begin, begin + insn.length, 0, 0)
                                       : api().emu_start(uc, begin, kNoUntil, 0, 1);
        ++result.iterations;
        result.error = err;
        result.error_text = api().strerror(err);
        if (record_.vector) {
            result.reason = UnicornStepReason::Exception;
            result.vector = *record_.vector;
            eip_ = read_eip_after(false);
            static const std::optional<size_t> error_code_at = find_error_code_offset();
            if (has_error_code(result.vector) && error_code_at &&
                api().context_save(uc, current_->probe) == UC_ERR_OK) {
                uint32_t code = 0;
                std::memcpy(&code,
                            reinterpret_cast<const uint8_t*>(current_->probe) + *error_code_at, 4);
                result.error_code = code;
            }
            break;
        }
        if (err == UC_ERR_INSN_INVALID) {
            result.reason = UnicornStepReason::Exception;
            result.vector = 6; // #UD
            result.invalid_opcode = true;
            eip_ = read_eip_after(false);
            break;
        }
        if (record_.memory_fault) {
            result.memory_fault = record_.memory_fault;
            const UnicornMemoryFault& fault = *record_.memory_fault;
            if (fault.fetch && (fault.address < linear || fault.address >= linear + 15)) {
                // The instruction retired; fetching the next one (a jump target outside RAM)
                // failed. EIP reads the plain new EIP here.
                result.reason = UnicornStepReason::Step;
                eip_ = read_eip_after(false);
                break;
            }
            result.reason = UnicornStepReason::InvalidMemory;
            eip_ = read_eip_after(true);
            break;
        }
        if (err != UC_ERR_OK) {
            result.reason = UnicornStepReason::Error;
            break;
        }
        if (hlt) {
            result.reason = UnicornStepReason::Hlt;
            eip_ = read_eip_after(false);
            break;
        }
        const uint32_t previous = eip_;
        eip_ = read_eip_after(!run_to_next); // a stop at `until` reads the plain EIP
        result.reason = UnicornStepReason::Step;
        const bool same_place =
            eip_ == previous && (read_reg(uc, UC_X86_REG_CS) & 0xFFFF) == before[Seg::CS].selector;
        if (!same_place || result.iterations >= options_.max_iterations_per_step) break;
        // A REP string instruction between iterations, or QEMU restarting an instruction that
        // wrote into its own translated block (precise self-modifying code: the store is
        // abandoned and the instruction re-run, which the count hook sees as the next one).
        // That one runs again up to the address after it.
        const bool restarted = decoded && !rep && !may_branch_to_itself(insn.op);
        if (!rep && (!restarted || run_to_next)) break;
        run_to_next = restarted;
    }
    result.io = std::move(record_.io);
    if (result.reason == UnicornStepReason::Step && !result.io.empty())
        result.reason = UnicornStepReason::Io;
    result.state = state();
    if (result.reason == UnicornStepReason::Hlt) result.state.activity = ActivityState::Hlt;
    return result;
}

} // namespace transit86::oracle
