# Thin wrapper over CMake presets. Every target installs what is missing first.
#   make demo   step the bundled boot sample through the real -> protected-mode window
#   make test   build and run every test
PRESET ?= default
BUILD  := build
JOBS   ?= $(shell nproc)

.PHONY: all deps configure build demo demo-kvm test clean

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

clean:
	@rm -rf $(BUILD)
