#include "bench/workloads.hpp"

#include <cstring>
#include <utility>

namespace transit86::bench {

namespace {

void append(std::vector<uint8_t>& code, std::initializer_list<uint8_t> bytes) {
    code.insert(code.end(), bytes);
}
void append32(std::vector<uint8_t>& code, uint32_t v) {
    for (int i = 0; i < 4; ++i)
        code.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

CpuState real_mode_state(uint32_t eip) {
    CpuState s = reset_state(ResetPreset::Kvm);
    s[Seg::CS].selector = 0;
    s[Seg::CS].base = 0;
    s.eip = eip;
    s[Gpr::ESP] = 0x8000;
    return s;
}

} // namespace

CpuState flat_protected_state(std::vector<uint8_t>& gdt, uint32_t& gdt_address) {
    gdt_address = 0x500;
    const uint64_t entries[] = {0, 0x00CF9A000000FFFFull, 0x00CF92000000FFFFull,
                                0x00008B000A000067ull};
    gdt.resize(sizeof(entries));
    std::memcpy(gdt.data(), entries, sizeof(entries));
    CpuState s = reset_state(ResetPreset::Kvm);
    s.cr0 |= cr0::PE;
    s.gdtr = {.base = gdt_address, .limit = sizeof(entries) - 1};
    s[Seg::CS] = {.base = 0, .limit = 0xFFFFFFFF, .access_rights = 0xC09B, .selector = 0x08};
    for (Seg seg : {Seg::SS, Seg::DS, Seg::ES, Seg::FS, Seg::GS})
        s[seg] = {.base = 0, .limit = 0xFFFFFFFF, .access_rights = 0xC093, .selector = 0x10};
    s.tr = {.base = 0xA00, .limit = 0x67, .access_rights = 0x8B, .selector = 0x18};
    s.ldtr = {.base = 0, .limit = 0, .access_rights = ar::kUnusable, .selector = 0};
    s[Gpr::ESP] = 0x80000;
    return s;
}

Workload register_loop(bool protected32, uint32_t iterations) {
    Workload w;
    w.name = protected32 ? "register-loop-p32" : "register-loop-r16";
    // mov ecx, N ; L: add eax, ebx ; dec ecx ; jnz L ; hlt   (66 prefixes in 16-bit code)
    const uint8_t o32 = 0x66;
    if (!protected32) w.code.push_back(o32);
    w.code.push_back(0xB9);
    append32(w.code, iterations);
    if (!protected32) w.code.push_back(o32);
    append(w.code, {0x01, 0xD8}); // add eax, ebx
    if (!protected32) w.code.push_back(o32);
    append(w.code, {0x49}); // dec ecx
    const auto back = static_cast<uint8_t>(-(protected32 ? 5 : 7));
    append(w.code, {0x75, back}); // jnz L
    append(w.code, {0xF4});       // hlt
    if (protected32) {
        Workload::Bytes gdt;
        w.start = flat_protected_state(gdt.bytes, gdt.address);
        w.start.eip = w.load_address;
        w.memory.push_back(std::move(gdt));
    } else {
        w.start = real_mode_state(w.load_address);
    }
    w.start[Gpr::EBX] = 3;
    w.instructions = 1 + 3ull * iterations + 1;
    return w;
}

Workload segmented_copy_loop(uint32_t iterations) {
    Workload w;
    w.name = "segmented-copy";
    // mov ecx, N ; L: mov al,[si] ; mov es:[di],al ; inc si ; inc di ; dec ecx ; jnz L ; hlt
    append(w.code, {0x66, 0xB9});
    append32(w.code, iterations);
    append(w.code, {0x8A, 0x04});                      // mov al, [si]
    append(w.code, {0x26, 0x88, 0x05});                // mov es:[di], al
    append(w.code, {0x46});                            // inc si
    append(w.code, {0x47});                            // inc di
    append(w.code, {0x66, 0x49});                      // dec ecx
    append(w.code, {0x75, static_cast<uint8_t>(-11)}); // jnz L
    append(w.code, {0xF4});
    w.start = real_mode_state(w.load_address);
    w.start[Seg::DS] = {
        .base = 0x20000, .limit = 0xFFFF, .access_rights = 0x93, .selector = 0x2000};
    w.start[Seg::ES] = {
        .base = 0x30000, .limit = 0xFFFF, .access_rights = 0x93, .selector = 0x3000};
    w.instructions = 1 + 6ull * iterations + 1;
    return w;
}

Workload unreal_rep_movsd(uint32_t bytes) {
    Workload w;
    w.name = "unreal-rep-movsd";
    // mov esi, 2 MiB ; mov edi, 4 MiB ; mov ecx, bytes/4 ; cld ; a32 rep movsd ; hlt
    append(w.code, {0x66, 0xBE});
    append32(w.code, 2u << 20);
    append(w.code, {0x66, 0xBF});
    append32(w.code, 4u << 20);
    append(w.code, {0x66, 0xB9});
    append32(w.code, bytes / 4);
    append(w.code, {0xFC, 0x67, 0xF3, 0x66, 0xA5, 0xF4});
    w.start = real_mode_state(w.load_address);
    // Unreal mode: real-mode DS and ES caches with 4 GiB limits (set up by earlier code).
    w.start[Seg::DS] = {.base = 0, .limit = 0xFFFFFFFF, .access_rights = 0xC093, .selector = 0};
    w.start[Seg::ES] = {.base = 0, .limit = 0xFFFFFFFF, .access_rights = 0xC093, .selector = 0};
    w.instructions = 6;
    return w;
}

Workload flat_rep_movsd(uint32_t bytes) {
    Workload w;
    w.name = "flat-rep-movsd";
    // mov esi, 2 MiB ; mov edi, 4 MiB ; mov ecx, bytes/4 ; cld ; rep movsd ; hlt
    append(w.code, {0xBE});
    append32(w.code, 2u << 20);
    append(w.code, {0xBF});
    append32(w.code, 4u << 20);
    append(w.code, {0xB9});
    append32(w.code, bytes / 4);
    append(w.code, {0xFC, 0xF3, 0xA5, 0xF4});
    Workload::Bytes gdt;
    w.start = flat_protected_state(gdt.bytes, gdt.address);
    w.start.eip = w.load_address;
    w.memory.push_back(std::move(gdt));
    w.instructions = 6;
    return w;
}

Workload with_identity_paging(Workload w) {
    constexpr uint32_t kDirectory = 1u << 20, kTables = kDirectory + 0x1000, kPages = 2048;
    Workload::Bytes tables{.address = kDirectory, .bytes = std::vector<uint8_t>(0x3000)};
    auto put32 = [&](uint32_t at, uint32_t v) { std::memcpy(&tables.bytes[at], &v, 4); };
    constexpr uint32_t kPresentWritable = 3;
    for (uint32_t t = 0; t < kPages / 1024; ++t)
        put32(t * 4, (kTables + t * 0x1000) | kPresentWritable);
    for (uint32_t page = 0; page < kPages; ++page)
        put32(0x1000 + page * 4, (page << 12) | kPresentWritable);
    w.memory.push_back(std::move(tables));
    w.start.cr3 = kDirectory;
    w.start.cr0 |= cr0::PG;
    w.name += "-paged";
    return w;
}

} // namespace transit86::bench
