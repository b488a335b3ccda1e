// transit86.h is also a valid C++ header: compiled here with the project's warnings.
#include "transit86/transit86.h"

// kvm_regs (18 * 8), kvm_sregs (312), the event state (16), kvm_debugregs (16 * 8), kvm_fpu
// (416).
static_assert(sizeof(transit86_vcpu_state) == 18 * 8 + 312 + 16 + 16 * 8 + 416);
