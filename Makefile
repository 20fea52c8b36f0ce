# The commands a newcomer types. Each one installs what is missing first.
#   make run    build (Release) and start Urbis with its embedded store
#               (MQTT=127.0.0.1:1883 HTTP=127.0.0.1:8080 DATA=./data to change)
#   make test   build and run every test: unit, unit under ASan+UBSan, fuzzers, integration
#   make build  build only; the binary is build/urbis
#   make bench  run the whole-system benchmarks (see docs/PERFORMANCE.md)

JOBS       ?= $(shell nproc)
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 30
DATA       ?= ./data
MQTT       ?= 127.0.0.1:1883
HTTP       ?= 127.0.0.1:8080

.PHONY: all deps build run test test-unit test-asan test-fuzz test-integration bench clean

all: build

deps:
	@./scripts/install-deps.sh

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

# The demo allows anonymous clients, but only because it listens on loopback.
run: build
	$(BUILD)/urbis serve --config urbis.toml --data $(DATA) --mqtt $(MQTT) --http $(HTTP) --allow-anonymous

test: build
	@./scripts/test.sh

bench: build
	@./bench/mqtt.sh

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
