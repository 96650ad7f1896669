# The two commands of the README:
#   make demo   installs what is missing, builds, runs Ridge Rider on the built-in 2-D landscape
#               and writes runs/demo/ (result.json, events.jsonl, solutions.csv, landscape.png)
#   make test   installs what is missing, builds, runs the whole test suite, then the suite built
#               with ASan+UBSan and a short fuzz run (CI runs this)
#   make check  the plain suite only (the quick loop while developing)
#   make test-all  the same as make test
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo

.PHONY: all setup build demo test check test-all bench clean

all: build

setup:
	./scripts/setup.sh

build: setup
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j$(JOBS) $(TARGETS)

demo: TARGETS = --target ridgerider
demo: build
	$(BUILD)/apps/ridgerider run --problem toy2d --out runs/demo --overwrite
	@echo "demo: open runs/demo/landscape.png; every solution is in runs/demo/result.json"

check: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

test: check test-sanitize fuzz

# The sanitizer build (42 CPU-min for the merged code: ~21 min on 2 cores) and the fuzzers
# (FUZZ_TIME s each, plus clang's install and build) are part of make test.
test-all: test

clean:
	rm -rf $(BUILD)

# ---- Sanitizers and fuzzing (fuzz/README.md) ----------------------------------------------------
# make test-sanitize   the whole test suite built with ASan+UBSan (GCC) in build-asan/
# make fuzz            the libFuzzer targets (clang) in build-fuzz/, each run FUZZ_TIME seconds
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_TIME ?= 30
# detect_leaks=0: see fuzz/README.md (LibTorch's process-lifetime allocations are not ours).
SANITIZER_ENV = ASAN_OPTIONS=detect_leaks=0:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
FUZZERS = config_fuzzer state_fuzzer
.PHONY: test-sanitize fuzz

test-sanitize: setup
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRIDGERIDER_SANITIZE=ON \
	  -DCMAKE_DISABLE_FIND_PACKAGE_benchmark=ON
	cmake --build $(ASAN_BUILD) -j$(JOBS)
	cd $(ASAN_BUILD) && $(SANITIZER_ENV) ctest --output-on-failure -j$(JOBS)

# Needs clang and libclang-rt-14-dev (clang's libFuzzer/ASan runtimes); installed here if missing
# rather than in setup.sh, so `make demo`/`make check` do not pull in clang.
fuzz: setup
	@for p in clang-14 libclang-rt-14-dev; do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' \
	  || { echo "fuzz: installing $$p" >&2; $$( [ $$(id -u) -ne 0 ] && echo sudo ) sh -c "apt-get update -qq && apt-get install -y -qq --no-install-recommends $$p" >/dev/null; }; done
	CC=clang-14 CXX=clang++-14 cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRIDGERIDER_FUZZ=ON \
	  -DCMAKE_DISABLE_FIND_PACKAGE_benchmark=ON
	cmake --build $(FUZZ_BUILD) -j$(JOBS) --target $(FUZZERS)
	@for f in $(FUZZERS); do corpus=fuzz/corpus/$${f%_fuzzer}; mkdir -p $(FUZZ_BUILD)/corpus/$$f $(FUZZ_BUILD)/artifacts; \
	  echo "fuzz: $$f for $(FUZZ_TIME) s" >&2; \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 $(FUZZ_BUILD)/fuzz/$$f -max_total_time=$(FUZZ_TIME) -print_final_stats=1 \
	    -artifact_prefix=$(CURDIR)/$(FUZZ_BUILD)/artifacts/$$f- $(FUZZ_BUILD)/corpus/$$f $$corpus 2>$(FUZZ_BUILD)/$$f.log \
	  || { grep -v '^#\|NEW_FUNC' $(FUZZ_BUILD)/$$f.log | tail -60 >&2; echo "fuzz: $$f FAILED, input in $(FUZZ_BUILD)/artifacts/" >&2; exit 1; }; \
	  grep '^stat::number_of_executed_units' $(FUZZ_BUILD)/$$f.log >&2; done
