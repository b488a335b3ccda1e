#include "tools/corpus/qemu_registers.hpp"

#include <charconv>
#include <fmt/format.h>
#include <map>

#include "tools/explain/explain_dump.hpp"

namespace transit86::tools {

namespace {

// "NAME=hex" words the explain parser does not keep: DR0-DR3, DR6, II, A20. Segment lines
// ("CS =...") have a space before '=' and are not words of this kind.
std::map<std::string, uint64_t, std::less<>> scalar_words(std::string_view text) {
    std::map<std::string, uint64_t, std::less<>> out;
    size_t at = 0;
    while (at < text.size()) {
        const size_t start = text.find_first_not_of(" \r\n", at);
        if (start == std::string_view::npos) break;
        const size_t end = std::min(text.find_first_of(" \r\n", start), text.size());
        const std::string_view word = text.substr(start, end - start);
        at = end;
        const size_t eq = word.find('=');
        if (eq == 0 || eq == std::string_view::npos) continue;
        uint64_t value = 0;
        const std::string_view digits = word.substr(eq + 1);
        const auto [ptr, ec] =
            std::from_chars(digits.data(), digits.data() + digits.size(), value, 16);
        if (ec == std::errc{} && ptr == digits.data() + digits.size() && !digits.empty())
            out[std::string(word.substr(0, eq))] = value;
    }
    return out;
}

} // namespace

std::optional<QemuRegisters> parse_info_registers(std::string_view text, std::string& error) {
    using explain::Field;
    explain::Dump dump;
    try {
        dump = explain::parse_dump(text); // tools/explain: QEMU's x86_cpu_dump_state lines
    } catch (const explain::DumpError& e) {
        error = fmt::format("info registers: {}", e.what());
        return std::nullopt;
    }
    static constexpr explain::FieldSet kNeeded = {
        Field::Es,   Field::Cs,     Field::Ss,   Field::Ds,   Field::Fs,      Field::Gs,
        Field::Ldtr, Field::Tr,     Field::Gdtr, Field::Idtr, Field::Cr0,     Field::Cr3,
        Field::Cr4,  Field::Rflags, Field::Rip,  Field::Efer, Field::Activity};
    if (dump.format != explain::DumpFormat::Qemu) {
        error = "info registers: not QEMU's register dump";
        return std::nullopt;
    }
    const explain::FieldSet missing = kNeeded.missing_from(dump.known);
    if (!missing.empty()) {
        error = fmt::format("info registers: no readable {}",
                            explain::field_name(missing.list().front()));
        return std::nullopt;
    }
    const auto words = scalar_words(text);
    auto word = [&](std::string_view name) -> std::optional<uint64_t> {
        const auto it = words.find(name);
        if (it == words.end()) return std::nullopt;
        return it->second;
    };
    QemuRegisters q;
    q.state = dump.state;
    for (size_t i = 0; i < q.state.dr.size(); ++i) {
        const auto dr = word(fmt::format("DR{}", i));
        if (!dr) {
            error = fmt::format("info registers: no readable DR{}", i);
            return std::nullopt;
        }
        q.state.dr[i] = static_cast<uint32_t>(*dr);
    }
    const auto dr6 = word("DR6"), dr7 = word("DR7"), ii = word("II"), a20 = word("A20");
    if (!dr6 || !dr7 || !ii || !a20) {
        error = "info registers: no readable DR6, DR7, II or A20";
        return std::nullopt;
    }
    q.state.dr6 = static_cast<uint32_t>(*dr6);
    q.state.dr7 = static_cast<uint32_t>(*dr7);
    q.halted = q.state.activity == ActivityState::Hlt;
    q.inhibit_irq = *ii != 0;
    q.a20 = *a20 != 0;
    return q;
}

} // namespace transit86::tools
