#include "tools/formats/console_lines.hpp"

#include <cstdio>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace transit86::tools {

void ConsoleLines::feed(std::string_view bytes) {
    for (const char c : bytes) {
        const auto byte = static_cast<unsigned char>(c);
        switch (escape_) {
        case Escape::Esc: escape_ = byte == '[' ? Escape::Csi : Escape::None; continue;
        case Escape::Csi:
            // Parameters and intermediates are 0x20-0x3F; a final byte 0x40-0x7E ends it.
            if (byte >= 0x40 && byte <= 0x7E) escape_ = Escape::None;
            continue;
        case Escape::None: break;
        }
        if (byte == 0x1B) {
            escape_ = Escape::Esc;
        } else if (byte == '\n') {
            print(pending_);
            pending_.clear();
        } else if (byte == '\t' || (byte >= 0x20 && byte != 0x7F)) {
            pending_.push_back(c);
        }
    }
}

void ConsoleLines::flush_partial() {
    if (pending_.empty()) return;
    print(pending_);
    pending_.clear();
}

void ConsoleLines::print(const std::string& line) {
    ++lines_;
    if (sink_) {
        sink_(line);
    } else if (json_) {
        const nlohmann::json j = {{label_, line}};
        const std::string text = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        std::fwrite(text.data(), 1, text.size(), stdout);
        std::fputc('\n', stdout);
    } else {
        fmt::print("{}{}: {}\n", indent_, label_, line);
    }
}

} // namespace transit86::tools
