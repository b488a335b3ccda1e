# Thin wrapper over CMake presets. Every target installs what is missing first.
#   make demo   step the bundled boot sample through the real -> protected-mode window
#   make test   build and run every test; then the unit tests again under ASan + UBSan (clang,
#               build-asan), each fuzz target for TRANSIT86_FUZZ_SECONDS (30 s) among them
#   make bench  micro-benchmarks and the transit86 / Unicorn / KVM compare (docs/performance.md)
#   make fuzz   longer libFuzzer campaigns (build-fuzz): FUZZ_SECONDS each (default 600),
#               FUZZ_TARGETS to choose, FUZZ_RUNS=N to stop after N executions instead
#               (docs/fuzzing.md)
PRESET ?= default
BUILD  := build
JOBS   ?= $(shell nproc)
# The sanitizer build follows PRESET's strictness: ci -> asan-ci (warnings are errors).
ASAN_PRESET  := $(if $(filter ci,$(PRESET)),asan-ci,asan)
FUZZ_SECONDS ?= 600
FUZZ_TARGETS ?= execute state_json corpus_case cli gdb

.PHONY: all deps configure build demo demo-kvm test test-asan fuzz bench clean

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

# The sanitizer run comes last, so its ctest summary is the last thing make test prints.
test: build
	@ctest --preset $(PRESET) -j $(JOBS)
	@$(MAKE) --no-print-directory test-asan

test-asan: deps
	@cmake --preset $(ASAN_PRESET) >/dev/null
	@cmake --build --preset $(ASAN_PRESET) -j $(JOBS)
	@ctest --preset $(ASAN_PRESET) -j $(JOBS)

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

clean:
	@rm -rf $(BUILD) build-asan build-fuzz
