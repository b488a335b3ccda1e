// Loading the Unicorn 2 C API (unicorn_api.hpp).
#include "oracle/unicorn_api.hpp"

#include <dlfcn.h>

namespace transit86::oracle {

namespace {

// The soname of Debian's libunicorn2 (Unicorn 2.0.x), the package the tests are written against.
constexpr const char* kLibrary = "libunicorn.so.2";

struct Loaded {
    UnicornApi api{};
    std::string error; // empty when loaded
};

template <typename Function>
bool resolve(void* library, const char* name, Function& out, std::string& error) {
    out = reinterpret_cast<Function>(::dlsym(library, name));
    if (out == nullptr && error.empty()) error = std::string(kLibrary) + " has no " + name;
    return out != nullptr;
}

Loaded load() {
    Loaded loaded;
    // Never closed: engines may live until the program exits.
    void* library = ::dlopen(kLibrary, RTLD_NOW | RTLD_LOCAL);
    if (library == nullptr) {
        const char* why = ::dlerror();
        loaded.error = std::string("cannot load ") + kLibrary + ": " + (why ? why : "?");
        return loaded;
    }
    UnicornApi& a = loaded.api;
    std::string& e = loaded.error;
    const bool all =
        resolve(library, "uc_open", a.open, e) & resolve(library, "uc_close", a.close, e) &
        resolve(library, "uc_strerror", a.strerror, e) & resolve(library, "uc_ctl", a.ctl, e) &
        resolve(library, "uc_mem_map", a.mem_map, e) &
        resolve(library, "uc_mem_map_ptr", a.mem_map_ptr, e) &
        resolve(library, "uc_mem_write", a.mem_write, e) &
        resolve(library, "uc_reg_read", a.reg_read, e) &
        resolve(library, "uc_reg_write", a.reg_write, e) &
        resolve(library, "uc_hook_add", a.hook_add, e) &
        resolve(library, "uc_emu_start", a.emu_start, e) &
        resolve(library, "uc_emu_stop", a.emu_stop, e) &
        resolve(library, "uc_context_alloc", a.context_alloc, e) &
        resolve(library, "uc_context_free", a.context_free, e) &
        resolve(library, "uc_context_save", a.context_save, e) &
        resolve(library, "uc_context_restore", a.context_restore, e) &
        resolve(library, "uc_context_size", a.context_size, e);
    if (!all && e.empty()) e = "incomplete " + std::string(kLibrary);
    return loaded;
}

} // namespace

const UnicornApi* unicorn_api(std::string* error) {
    static const Loaded loaded = load(); // thread-safe, once
    if (!loaded.error.empty()) {
        if (error != nullptr) *error = loaded.error;
        return nullptr;
    }
    return &loaded.api;
}

} // namespace transit86::oracle
