#!/usr/bin/env bash
# Sets up and runs every test: the normal build, the ASan+UBSan build (clang),
# and the wire/ioctl fuzzer for a bounded time.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh

fuzz_seconds=${REDOX_DRM_FUZZ_SECONDS:-60}
status=0
passed=0
failed=0

# Runs meson test and adds its counts to the totals.
run_suite() {
	local log
	log=$(mktemp)
	"$@" 2>&1 | tee "$log" || status=1
	local ok fail
	ok=$(awk '/^Ok:/ {print $2}' "$log" | tail -n 1)
	fail=$(awk '/^Fail:/ {print $2}' "$log" | tail -n 1)
	passed=$((passed + ${ok:-0}))
	failed=$((failed + ${fail:-0}))
	rm -f "$log"
}

echo "== build (gcc) and test"
[ -d build ] || meson setup build >/dev/null
ninja -C build
run_suite meson test -C build --print-errorlogs

echo "== build (clang, AddressSanitizer + UndefinedBehaviorSanitizer) and test"
[ -d build-san ] || CC=clang meson setup build-san -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
ninja -C build-san
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	run_suite meson test -C build-san --print-errorlogs

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
	passed=$((passed + 1))
else
	tail -n 60 build-fuzz/fuzz.log
	echo "fuzz: FAILED"
	failed=$((failed + 1))
	status=1
fi

[ $failed -eq 0 ] || status=1
echo "$passed passed, $failed failed"
exit $status
