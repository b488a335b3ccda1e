// What `transit86 boot` prints besides the console: the run's header, each window of the
// census as it ends, lines about what the platform does not model, and the end with the
// census summary — as text, or as JSON Lines with --json (docs/boot.md).
#pragma once

#include <span>
#include <string>
#include <vector>

#include "tools/boot/boot_machine.hpp"
#include "tools/commands.hpp"
#include "transit86/census.hpp"

namespace transit86::tools {

class CensusReport {
  public:
    // `shapes_only` (--census shapes): of the windows, only the first of each shape is
    // printed; with --json the end adds a "shapes" record that counts them all.
    CensusReport(bool json, vmx::Profile profile, bool shapes_only = false)
        : json_(json), shapes_only_(shapes_only), profile_(profile) {}

    void header(const BootOptions& options, size_t bios_size);
    // A line about the options, after the header: `note: ...` ({"note": "..."}).
    void note(const std::string& text);
    void window(const CensusWindow& window);
    void device_log(const std::string& line);
    // --send: a step typed (`input: typed "..." after "..."`), and at the end the steps whose
    // text the console never showed.
    void typed(const ConsoleInput& step);
    void not_typed(std::span<const ConsoleInput> steps);
    // --screen: the text screen's rows (formats/text_screen.hpp), before the end.
    void screen(const BootMachine& machine);
    void end(const BootEnd& end, const BootMachine& machine, double wall_seconds);

  private:
    bool json_;
    bool shapes_only_;
    vmx::Profile profile_;
    CensusText text_; // groups repeated window shapes
};

} // namespace transit86::tools
