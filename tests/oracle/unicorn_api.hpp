// The Unicorn 2 C API as the runner uses it, loaded from libunicorn.so.2 on first use (dlopen)
// instead of linked. The CLI links the runner for `corpus rebase --oracle unicorn`; linked,
// Unicorn's ~67,000 relocations cost every start of every command ~12 ms (more than half of
// `transit86 --version`, 4 % of a GRUB boot to its menu), for an engine only the corpus uses.
// A program that calls Unicorn itself (bench/compare.cpp) links it as before.
#pragma once

#include <string>

#include <unicorn/unicorn.h>

namespace transit86::oracle {

struct UnicornApi {
    decltype(&::uc_open) open;
    decltype(&::uc_close) close;
    decltype(&::uc_strerror) strerror;
    decltype(&::uc_ctl) ctl;
    decltype(&::uc_mem_map) mem_map;
    decltype(&::uc_mem_map_ptr) mem_map_ptr;
    decltype(&::uc_mem_write) mem_write;
    decltype(&::uc_reg_read) reg_read;
    decltype(&::uc_reg_write) reg_write;
    decltype(&::uc_hook_add) hook_add;
    decltype(&::uc_emu_start) emu_start;
    decltype(&::uc_emu_stop) emu_stop;
    decltype(&::uc_context_alloc) context_alloc;
    decltype(&::uc_context_free) context_free;
    decltype(&::uc_context_save) context_save;
    decltype(&::uc_context_restore) context_restore;
    decltype(&::uc_context_size) context_size;
};

// The API, loaded once; nullptr when libunicorn.so.2 or one of its functions cannot be found,
// then `error` (when given) says why in one line.
const UnicornApi* unicorn_api(std::string* error = nullptr);

} // namespace transit86::oracle
