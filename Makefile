# The two commands of the README:
#   make demo   installs what is missing, builds, runs Ridge Rider on the built-in 2-D landscape
#               and writes runs/demo/ (result.json, events.jsonl, solutions.csv, landscape.png)
#   make test   installs what is missing, builds, runs the whole test suite
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo

.PHONY: all setup build demo test bench clean

all: build

setup:
	./scripts/setup.sh

build: setup
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j$(JOBS) $(TARGETS)

demo: TARGETS = --target ridgerider
demo: build
	$(BUILD)/apps/ridgerider run --problem toy2d --out runs/demo
	@echo "demo: open runs/demo/landscape.png; every solution is in runs/demo/result.json"

test: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

clean:
	rm -rf $(BUILD)

# ---- Sanitizers and fuzzing (fuzz/README.md) ----------------------------------------------------
# make test-sanitize   the whole test suite built with ASan+UBSan (GCC) in build-asan/
# make fuzz            the libFuzzer targets (clang) in build-fuzz/, each run FUZZ_TIME seconds
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_TIME ?= 30
SANITIZER_ENV = ASAN_OPTIONS=$(CURDIR)/sanitizer/asan.options \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:suppressions=$(CURDIR)/sanitizer/ubsan.supp
.PHONY: test-sanitize fuzz

test-sanitize: setup
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRIDGERIDER_SANITIZE=ON \
	  -DCMAKE_DISABLE_FIND_PACKAGE_benchmark=ON
	cmake --build $(ASAN_BUILD) -j$(JOBS)
	cd $(ASAN_BUILD) && $(SANITIZER_ENV) ctest --output-on-failure -j$(JOBS)
