// transit86.h is also a valid C++ header: compiled here with the project's warnings.
#include "transit86/transit86.h"

static_assert(sizeof(transit86_vcpu_state) == 18 * 8 + 312 + 16 + 416); // + struct kvm_fpu
