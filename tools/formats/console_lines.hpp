// Guest console output as text lines: bytes in, whole lines out, each with a label
// ("serial: SeaBIOS (version ...)"). Terminal control the guest sends for a screen — ANSI
// escape sequences (SeaBIOS's sercon positions its cursor with them), carriage returns,
// other control bytes — is dropped, so a line reads as text and compares byte for byte.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace transit86::tools {

class ConsoleLines {
  public:
    // Text: "{indent}{label}: {line}". JSON Lines: {"{label}": "{line}"}.
    ConsoleLines(std::string label, bool json, std::string indent = {})
        : label_(std::move(label)), json_(json), indent_(std::move(indent)) {}
    // Each line to `sink` instead of standard output (the corpus's boot chains keep them).
    using LineSink = std::function<void(const std::string& line)>;
    explicit ConsoleLines(LineSink sink) : json_(false), sink_(std::move(sink)) {}

    void feed(std::string_view bytes);
    // Prints what is pending without a newline yet (before a trace line, at the end).
    void flush_partial();
    // How many lines were printed so far.
    uint64_t lines_printed() const { return lines_; }

  private:
    void print(const std::string& line);

    std::string label_;
    bool json_;
    std::string indent_;
    LineSink sink_;
    std::string pending_;
    enum class Escape : uint8_t { None, Esc, Csi } escape_ = Escape::None;
    uint64_t lines_ = 0;
};

} // namespace transit86::tools
