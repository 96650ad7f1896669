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
