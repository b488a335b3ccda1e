// console_script: keys typed on the PC's serial line as the guest's output shows what each
// step waits for, in the manner of expect(1) — `transit86 boot --expect/--send` and
// examples/kvm-vmm `--pc` run the same script (docs/boot.md, "Typing on the console").
//
// A step's text is looked for only in the output after the previous step's match, so two
// steps waiting for the same prompt wait for two prompts. Steps that wait for nothing are due
// at once (at power-on for the first ones). Where the bytes go and when they arrive is the
// UART's business (PcPlatform::serial_input, Serial16550::receive: at the line's rate).
//
// The command-line form, shared by both front ends: `--expect TEXT` and `--send TEXT` in order,
// each --send typed once the console has shown the --expect texts before it (several in a
// row are waited for in turn); TEXT takes the escapes \r \n \t \b \e \xHH \\.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace transit86::pc {

// How fast the script types: a byte every 5 ms at most (200 a second; the line's character time
// when that is longer, 9600 8N1: 1.04 ms). SeaBIOS's serial console moves received bytes into
// the BIOS keyboard buffer, 15 keys, on its 55 ms timer tick and drops what does not fit: typed
// faster, a line for ISOLINUX's prompt loses characters (`--send-gap` changes it).
inline constexpr uint64_t kTypingGapNs = 5'000'000;

struct ConsoleStep {
    std::string expect; // "": due at once
    std::string send;
};

class ConsoleScript {
  public:
    ConsoleScript() = default;
    explicit ConsoleScript(std::vector<ConsoleStep> steps) : steps_(std::move(steps)) {}

    // The steps due now, in order, marked typed: those whose text `output` (what the guest
    // sent since the last call; "" before the first output) completed, and every one after
    // them that waits for nothing.
    std::vector<ConsoleStep> due(std::string_view output);
    size_t typed() const { return next_; }
    bool finished() const { return next_ == steps_.size(); }
    std::span<const ConsoleStep> not_typed() const { return std::span(steps_).subspan(next_); }

  private:
    std::vector<ConsoleStep> steps_;
    size_t next_ = 0;
    std::string seen_; // output since the last match: the tail that may begin the next text
};

// Builds the steps of a command line's --expect and --send options, given in order; each
// throws std::invalid_argument with one line ("--send \"\\q\": unknown escape ...").
class ConsoleScriptBuilder {
  public:
    void expect(std::string_view text);
    void send(std::string_view text);
    std::vector<ConsoleStep> finish();

  private:
    std::vector<ConsoleStep> steps_;
    std::string pending_expect_; // an --expect without its --send yet (never empty when given)
};

// TEXT with its escapes decoded; `option` names it in the error.
std::string decode_console_escapes(std::string_view text, std::string_view option);

// The report lines of both front ends: `input: typed "c" after "command-line."` and, at the
// end, `input: 2 steps not typed: the console never showed "grub> "` (empty when all were).
// Control bytes are shown as escapes.
std::string typed_line(const ConsoleStep& step);
std::string not_typed_line(std::span<const ConsoleStep> steps);

} // namespace transit86::pc
