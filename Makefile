# Thin wrapper over CMake presets. Every target installs what is missing first.
#   make demo   step the bundled boot sample through the real -> protected-mode window
#   make test   build and run every test; then the unit tests again under ASan + UBSan (clang,
#               build-asan), each fuzz target for TRANSIT86_FUZZ_SECONDS (20 s) among them;
#               then the SMP atomicity test under ThreadSanitizer (make test-tsan)
#   make test-tsan  tests/embedding/smp_atomicity_test alone under ThreadSanitizer (clang,
#               build-tsan): vCPU threads over shared guest RAM
#   make bench  micro-benchmarks, the transit86 / Unicorn / KVM compare and the boot workloads
#               against QEMU TCG (docs/performance.md)
#   make fuzz   longer libFuzzer campaigns (build-fuzz): FUZZ_SECONDS each (default 600),
#               FUZZ_TARGETS to choose, FUZZ_RUNS=N to stop after N executions instead
#               (docs/fuzzing.md)
#   make linux-kernel  fetch a Debian Linux kernel (70 MB) for the Linux boot chain
#               (tests/boot/README.md)
PRESET ?= default
BUILD  := build
JOBS   ?= $(shell nproc)
# The sanitizer build follows PRESET's strictness: ci -> asan-ci (warnings are errors).
ASAN_PRESET  := $(if $(filter ci,$(PRESET)),asan-ci,asan)
TSAN_PRESET  := $(if $(filter ci,$(PRESET)),tsan-ci,tsan)
FUZZ_SECONDS ?= 600
FUZZ_TARGETS ?= execute state_json corpus_case cli gdb platform

.PHONY: all deps configure build demo demo-kvm test test-asan test-tsan fuzz bench linux-kernel clean

all: build

deps:
	@scripts/install-deps.sh

configure: deps
	@cmake --preset $(PRESET) >/dev/null

build: configure
	@cmake --build --preset $(PRESET) -j $(JOBS)

demo: build
	@echo "== transit86 step corpus/boot/pe_entry.asm, reset preset intel (SDM power-up state) =="
	@$(BUILD)/bin/transit86 step $(BUILD)/corpus/boot/pe_entry.bin --preset intel
	@echo
	@echo "== the same sample from KVM's vCPU reset state (CS is a code segment, TR a busy TSS) =="
	@$(BUILD)/bin/transit86 step $(BUILD)/corpus/boot/pe_entry.bin --preset kvm

# The sanitizer runs come last, so their ctest summaries are the last things make test prints.
test: build
	@ctest --preset $(PRESET) -j $(JOBS)
	@$(MAKE) --no-print-directory test-asan
	@$(MAKE) --no-print-directory test-tsan

test-asan: deps
	@cmake --preset $(ASAN_PRESET) >/dev/null
	@cmake --build --preset $(ASAN_PRESET) -j $(JOBS)
	@ctest --preset $(ASAN_PRESET) -j $(JOBS)

# Builds only the SMP test (and the libraries it links) with -fsanitize=thread and runs it.
test-tsan: deps
	@cmake --preset $(TSAN_PRESET) >/dev/null
	@cmake --build --preset $(TSAN_PRESET) -j $(JOBS)
	@ctest --preset $(TSAN_PRESET)

fuzz: deps
	@cmake --preset fuzz >/dev/null
	@cmake --build --preset fuzz -j $(JOBS)
	@for t in $(FUZZ_TARGETS); do \
	  echo "== fuzz_$$t for $(if $(FUZZ_RUNS),$(FUZZ_RUNS) executions,$(FUZZ_SECONDS) s) (corpus: build-fuzz/campaign/$$t)"; \
	  FUZZ_RUNS=$(FUZZ_RUNS) tests/fuzz/run.sh build-fuzz/bin/fuzz_$$t $(FUZZ_SECONDS) build-fuzz/campaign/$$t \
	    build-fuzz/tests/fuzz/seeds/$$t tests/badinput/files/$$t || exit 1; \
	done

# Micro-benchmarks, then transit86 vs Unicorn vs /dev/kvm; ends with one line per workload.
bench: build
	@$(BUILD)/bin/transit86_micro_bench --benchmark_min_time=0.2
	@$(BUILD)/bin/transit86-compare $(BUILD)/bin $(BUILD)/corpus
	@bench/boot-bench.sh $(BUILD)

# A Debian Linux kernel for the Linux boot chain, fetched once into $(BUILD)/linux-kernel/
# (a 70 MB download; tests/boot/README.md). Not part of build or test.
linux-kernel:
	@scripts/fetch-linux-kernel.sh $(BUILD)/linux-kernel

clean:
	@rm -rf $(BUILD) build-asan build-fuzz build-tsan
