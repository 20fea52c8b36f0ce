#!/bin/sh
# Runs every test `make test` promises: unit tests (Release), unit tests under
# AddressSanitizer + UndefinedBehaviorSanitizer, each fuzz target for a bounded
# time, and the black-box integration tests against the real binary.
set -eu
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc)}
BUILD=${BUILD:-build}
ASAN_BUILD=${ASAN_BUILD:-build-asan}
FUZZ_BUILD=${FUZZ_BUILD:-build-fuzz}
FUZZ_SECONDS=${FUZZ_SECONDS:-30}

step() { printf '\n==== %s\n' "$*"; }

./scripts/install-node-deps.sh

step "unit and integration tests (Release)"
ctest --test-dir "$BUILD" --output-on-failure -j "$JOBS" --timeout 300

step "unit tests under ASan + UBSan"
if [ ! -f "$ASAN_BUILD/build.ninja" ]; then
  cmake -S . -B "$ASAN_BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DURBIS_SANITIZE=ON -DURBIS_BENCH=OFF
fi
cmake --build "$ASAN_BUILD" -j "$JOBS" --target urbis_unit_tests
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 "$ASAN_BUILD/urbis_unit_tests" --gtest_brief=1

step "fuzz targets, ${FUZZ_SECONDS}s each"
if [ ! -f "$FUZZ_BUILD/build.ninja" ]; then
  CXX=clang++-14 cmake -S . -B "$FUZZ_BUILD" -G Ninja -DURBIS_FUZZ=ON
fi
cmake --build "$FUZZ_BUILD" -j "$JOBS"
for f in "$FUZZ_BUILD"/*_fuzz; do
  name=$(basename "$f")
  corpus="tests/fuzz/corpus/${name%_fuzz}"
  work=$(mktemp -d)
  echo "fuzzing $name from $corpus"
  "$f" -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 -artifact_prefix="$work/" "$work" "$corpus" 2>"$work/log" || {
    tail -50 "$work/log"; echo "fuzz target $name failed; crashing input kept in $work"; exit 1; }
  grep -E "stat::number_of_executed_units" "$work/log" || true
  rm -rf "$work"
done

step "all tests passed"
