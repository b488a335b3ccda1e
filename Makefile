# Thin wrapper over CMake presets. Every target installs what is missing first.
#   make demo   step the bundled boot sample through the real -> protected-mode window
#   make test   build and run every test
PRESET ?= default
BUILD  := build
JOBS   ?= $(shell nproc)

.PHONY: all deps configure build demo demo-kvm test bench clean

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

test: build
	@ctest --preset $(PRESET) -j $(JOBS)

# Micro-benchmarks, then transit86 vs Unicorn vs /dev/kvm; ends with one line per workload.
bench: build
	@$(BUILD)/bin/transit86_micro_bench --benchmark_min_time=0.2
	@$(BUILD)/bin/transit86-compare $(BUILD)/bin $(BUILD)/corpus

clean:
	@rm -rf $(BUILD)
