// What `kvm-vmm --pc` prints, in the layout of `transit86 boot` (tools/boot/cmd_boot.cpp and
// census_report.cpp; docs/boot.md) so that the two outputs compare line for line:
//   serial: ... / debugcon: ...   the guest's console as text lines, as they come
//   == window N: ...              each window of the census as it ends (transit86/census.hpp,
//                                 CensusText: the first of a shape whole, repeats in a line)
//   input: ...                    each --send typed, and at the end the steps never typed
//   platform: ...                 what the platform does not model
//   == K window shapes ...        when shapes repeat
//   == end: ... / == census ...   the end and the census summary
// and, last, one line of its own: KVM's exits and the hand-overs.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "pc_vmm.hpp"
#include "transit86/census.hpp"

namespace kvm_vmm {

class PcReport {
  public:
    using Sink = std::function<void(std::string_view)>;
    explicit PcReport(Sink out) : out_(std::move(out)) {}

    void serial(std::string_view bytes) { serial_.feed(bytes, out_); }
    void debugcon(std::string_view bytes) { debugcon_.feed(bytes, out_); }
    void device_log(const std::string& line);
    void window(const transit86::CensusWindow& window);
    // A --send step typed: `input: typed "..." after "..."` between the console lines.
    void typed(const transit86::pc::ConsoleStep& step);
    // The console's unfinished lines, the platform's unclaimed ports and pages, the shape
    // table, the end and the census summary (`transit86 boot`'s lines), then the VMM's line.
    void end(const PcVmmResult& result, double wall_seconds);

  private:
    // Console bytes as "label: line" lines: terminal escape sequences (ESC [ ... final byte)
    // and control characters other than tab left out, as transit86 boot's ConsoleLines does.
    class ConsoleLines {
      public:
        explicit ConsoleLines(const char* label) : label_(label) {}
        void feed(std::string_view bytes, const Sink& out);
        void flush_partial(const Sink& out);

      private:
        enum class Escape : uint8_t { None, Esc, Csi };
        const char* label_;
        std::string pending_;
        Escape escape_ = Escape::None;
    };

    void flush_console();

    Sink out_;
    ConsoleLines serial_{"serial"}, debugcon_{"debugcon"};
    transit86::CensusText text_;
};

} // namespace kvm_vmm
