#!/usr/bin/env bash
# Sets up and runs every test: the normal build, the ASan+UBSan build (clang),
# and the wire/ioctl fuzzer for a bounded time.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh

fuzz_seconds=${REDOX_DRM_FUZZ_SECONDS:-60}
status=0

echo "== build (gcc) and test"
[ -d build ] || meson setup build >/dev/null
ninja -C build
meson test -C build --print-errorlogs || status=1

echo "== build (clang, AddressSanitizer + UndefinedBehaviorSanitizer) and test"
[ -d build-san ] || CC=clang meson setup build-san -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
ninja -C build-san
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	meson test -C build-san --print-errorlogs || status=1

echo "== fuzz the wire decoder and ioctl dispatch for ${fuzz_seconds}s"
[ -d build-fuzz ] || CC=clang meson setup build-fuzz -Dfuzzers=true -Db_sanitize=address,undefined \
	-Db_lundef=false >/dev/null
ninja -C build-fuzz tests/fuzz/fuzz_wire
corpus=build-fuzz/fuzz-corpus
python3 tests/fuzz/make_seeds.py "$corpus"
if UBSAN_OPTIONS=halt_on_error=1 build-fuzz/tests/fuzz/fuzz_wire -max_total_time="$fuzz_seconds" \
	-rss_limit_mb=2048 -print_final_stats=1 "$corpus" >build-fuzz/fuzz.log 2>&1; then
	grep -E "stat::number_of_executed_units|stat::peak_rss_mb" build-fuzz/fuzz.log || true
	echo "fuzz: no crash, no leak"
else
	tail -n 60 build-fuzz/fuzz.log
	echo "fuzz: FAILED"
	status=1
fi

if [ $status -eq 0 ]; then
	echo "all test suites passed"
else
	echo "some tests FAILED"
fi
exit $status
