// transit86 — step boot code through the real/protected-mode window and judge each state
// against the VM-entry checks. See docs/cli.md; the program is tools/transit86_main.cpp.
#include "tools/cli_options.hpp"

int main(int argc, char** argv) {
    return transit86::tools::transit86_main(argc, argv);
}
