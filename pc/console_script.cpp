#include "pc/console_script.hpp"

#include <cctype>
#include <stdexcept>
#include <utility>

namespace transit86::pc {

namespace {

// Typed or expected text as a reader sees it: control bytes as the escapes that type them.
std::string shown(std::string_view text) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        switch (c) {
        case '\r': out += "\\r"; break;
        case '\n': out += "\\n"; break;
        case '\t': out += "\\t"; break;
        case '\x1b': out += "\\e"; break;
        case '\\': out += "\\\\"; break;
        default:
            if (byte < 0x20 || byte >= 0x7F) {
                out += "\\x";
                out += kHex[byte >> 4];
                out += kHex[byte & 0xF];
            } else {
                out += c;
            }
        }
    }
    return out;
}

std::string quoted(std::string_view option, std::string_view text) {
    return std::string(option) + " \"" + std::string(text) + "\"";
}

} // namespace

std::vector<ConsoleStep> ConsoleScript::due(std::string_view output) {
    std::vector<ConsoleStep> typed;
    if (finished()) return typed;
    seen_ += output;
    while (!finished()) {
        const ConsoleStep& step = steps_[next_];
        if (!step.expect.empty()) {
            const size_t at = seen_.find(step.expect);
            if (at == std::string::npos) {
                // Keep only what could still begin the text.
                if (seen_.size() >= step.expect.size())
                    seen_.erase(0, seen_.size() - (step.expect.size() - 1));
                break;
            }
            seen_.erase(0, at + step.expect.size());
        }
        typed.push_back(step);
        ++next_;
    }
    return typed;
}

void ConsoleScriptBuilder::expect(std::string_view text) {
    std::string wanted = decode_console_escapes(text, "--expect");
    if (wanted.empty()) throw std::invalid_argument("--expect: the text is empty");
    if (!pending_expect_.empty()) steps_.push_back({pending_expect_, ""}); // waited for, no keys
    pending_expect_ = std::move(wanted);
}

void ConsoleScriptBuilder::send(std::string_view text) {
    std::string bytes = decode_console_escapes(text, "--send");
    if (bytes.empty()) throw std::invalid_argument("--send: the text is empty");
    steps_.push_back({std::exchange(pending_expect_, {}), std::move(bytes)});
}

std::vector<ConsoleStep> ConsoleScriptBuilder::finish() {
    if (!pending_expect_.empty())
        throw std::invalid_argument(quoted("--expect", shown(pending_expect_)) +
                                    " has no --send after it");
    return std::move(steps_);
}

std::string decode_console_escapes(std::string_view text, std::string_view option) {
    std::string out;
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '\\') {
            out += text[i];
            continue;
        }
        if (i + 1 == text.size())
            throw std::invalid_argument(quoted(option, text) +
                                        ": ends with a lone \\ (\\\\ types a backslash)");
        const char c = text[++i];
        switch (c) {
        case 'r': out += '\r'; break;
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'b': out += '\b'; break;
        case 'e': out += '\x1b'; break;
        case '\\': out += '\\'; break;
        case 'x': {
            auto digit = [&](size_t at) {
                return at < text.size() && std::isxdigit(static_cast<unsigned char>(text[at]));
            };
            if (!digit(i + 1) || !digit(i + 2))
                throw std::invalid_argument(quoted(option, text) + ": \\x needs two hex digits");
            out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
            i += 2;
            break;
        }
        default:
            throw std::invalid_argument(quoted(option, text) + ": unknown escape \"\\" +
                                        std::string(1, c) + "\" (\\r \\n \\t \\b \\e \\xHH \\\\)");
        }
    }
    return out;
}

std::string typed_line(const ConsoleStep& step) {
    if (step.send.empty()) return "input: saw \"" + shown(step.expect) + "\"\n";
    if (step.expect.empty()) return "input: typed \"" + shown(step.send) + "\" at once\n";
    return "input: typed \"" + shown(step.send) + "\" after \"" + shown(step.expect) + "\"\n";
}

std::string not_typed_line(std::span<const ConsoleStep> steps) {
    if (steps.empty()) return "";
    return "input: " + std::to_string(steps.size()) + (steps.size() == 1 ? " step" : " steps") +
           " not typed: the console never showed \"" + shown(steps.front().expect) + "\"\n";
}

} // namespace transit86::pc
