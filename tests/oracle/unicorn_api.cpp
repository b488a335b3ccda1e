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
void resolve(void* library, const char* name, Function& out, std::string& error) {
    out = reinterpret_cast<Function>(::dlsym(library, name));
    if (out == nullptr) error = std::string(kLibrary) + " has no " + name;
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
    // The first function missing names the problem.
    const auto need = [&](const char* name, auto& out) {
        if (loaded.error.empty()) resolve(library, name, out, loaded.error);
    };
    need("uc_open", a.open);
    need("uc_close", a.close);
    need("uc_strerror", a.strerror);
    need("uc_ctl", a.ctl);
    need("uc_mem_map", a.mem_map);
    need("uc_mem_map_ptr", a.mem_map_ptr);
    need("uc_mem_write", a.mem_write);
    need("uc_reg_read", a.reg_read);
    need("uc_reg_write", a.reg_write);
    need("uc_hook_add", a.hook_add);
    need("uc_emu_start", a.emu_start);
    need("uc_emu_stop", a.emu_stop);
    need("uc_context_alloc", a.context_alloc);
    need("uc_context_free", a.context_free);
    need("uc_context_save", a.context_save);
    need("uc_context_restore", a.context_restore);
    need("uc_context_size", a.context_size);
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
