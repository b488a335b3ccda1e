# Sanitizers and libFuzzer (docs/fuzzing.md): the `asan`, `fuzz` and `tsan` presets.
#
# TRANSIT86_SANITIZE=ON builds everything with AddressSanitizer and UndefinedBehaviorSanitizer;
# any UB report aborts the process (-fno-sanitize-recover), so a test that trips one fails.
# TRANSIT86_BUILD_FUZZERS=ON (clang only) also instruments every library for libFuzzer's
# coverage (-fsanitize=fuzzer-no-link) and builds the targets in tests/fuzz/.
option(TRANSIT86_SANITIZE "Build with AddressSanitizer + UndefinedBehaviorSanitizer" OFF)
option(TRANSIT86_BUILD_FUZZERS "Build the libFuzzer targets in tests/fuzz (clang only)" OFF)
# TRANSIT86_TSAN=ON builds everything with ThreadSanitizer (the `tsan` preset, `make test-tsan`):
# tests/embedding/smp_atomicity_test runs vCPU threads over shared guest RAM, and any data race
# TSan sees inside the emulator fails it (halt_on_error). It excludes ASan (one runtime each).
option(TRANSIT86_TSAN "Build with ThreadSanitizer" OFF)
if(TRANSIT86_TSAN AND TRANSIT86_SANITIZE)
  message(FATAL_ERROR "TRANSIT86_TSAN and TRANSIT86_SANITIZE exclude each other: use the tsan "
                      "or the asan preset")
endif()
if(TRANSIT86_TSAN)
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
endif()

if(TRANSIT86_SANITIZE)
  set(TRANSIT86_SANITIZER_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=undefined
                                -fno-omit-frame-pointer)
  add_compile_options(${TRANSIT86_SANITIZER_FLAGS})
  add_link_options(-fsanitize=address,undefined)
endif()

if(TRANSIT86_BUILD_FUZZERS)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "TRANSIT86_BUILD_FUZZERS needs clang (libFuzzer); "
                        "configure with CMAKE_CXX_COMPILER=clang++ or the fuzz preset")
  endif()
  if(NOT TRANSIT86_SANITIZE)
    message(FATAL_ERROR "TRANSIT86_BUILD_FUZZERS needs TRANSIT86_SANITIZE=ON: a fuzz run "
                        "without ASan and UBSan finds only crashes")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
