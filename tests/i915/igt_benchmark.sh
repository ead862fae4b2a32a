#!/bin/sh
# Runs one intel-gpu-tools benchmark through redox-drm-run against a daemon
# of its own and checks that it exits 0 having printed its figures: at least
# MIN_FIGURES lines that are plain numbers. IGT opens the first card whose
# driver is i915 (card1; card0 is amdgpu). With KMS=1 a modetest holds a
# mode on card1's first connector meanwhile (kms_vblank needs pipe 0 lit).
# Usage: igt_benchmark.sh NAME MIN_FIGURES [ARGS...]; exits 77 (skip) when
# the benchmark is not installed.
set -u
: "${REDOX_DRM_RUN:?REDOX_DRM_RUN must name the redox-drm-run executable}"
: "${REDOX_DRMD:?REDOX_DRMD must name the redox-drmd executable}"
name=$1
min=$2
shift 2
dir=${IGT_BENCHMARKS:-/usr/libexec/igt-gpu-tools/benchmarks}
bench="$dir/$name"
[ -x "$bench" ] || { echo "SKIP: $bench is not installed"; exit 77; }
unset REDOX_DRM_RUNTIME_DIR

work=$(mktemp -d "${TMPDIR:-/tmp}/igt-$name.XXXXXX") || exit 1
daemon=
holder=
cleanup() {
	for p in $holder $daemon; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() {
	echo "FAIL: $*"
	for f in "$work"/*.log; do
		[ -s "$f" ] && { echo "--- $f"; tail -n 30 "$f"; }
	done
	exit 1
}

mkdir "$work/rt" || exit 1
REDOX_DRM_RUNTIME_DIR="$work/rt"
export REDOX_DRM_RUNTIME_DIR
"$REDOX_DRMD" --runtime-dir "$work/rt" --log-level warn >"$work/daemon.log" 2>&1 &
daemon=$!
n=0
while [ ! -e "$work/rt/ready" ]; do
	kill -0 "$daemon" 2>/dev/null || fail "the daemon exited before it was ready"
	n=$((n + 1))
	[ "$n" -le 100 ] || fail "the daemon was not ready after 10 s"
	sleep 0.1
done

if [ "${KMS:-0}" = 1 ]; then
	for tool in modetest stdbuf; do
		command -v $tool >/dev/null 2>&1 || { echo "SKIP: $tool is not installed"; exit 77; }
	done
	conn=$("$REDOX_DRM_RUN" -- modetest -M i915 -c 2>/dev/null | awk '$3 == "connected" { print $1; exit }')
	[ -n "$conn" ] || fail "card1 has no connected connector"
	# modetest keeps the mode until its stdin is readable; the fifo stays silent until cleanup.
	mkfifo "$work/hold" || exit 1
	"$REDOX_DRM_RUN" -- stdbuf -oL modetest -M i915 -s "$conn:1920x1080" <"$work/hold" >"$work/modetest.log" 2>&1 &
	holder=$!
	exec 9>"$work/hold"
	n=0
	until grep -q "setting mode" "$work/modetest.log" 2>/dev/null; do
		kill -0 "$holder" 2>/dev/null || fail "modetest exited"
		n=$((n + 1))
		[ "$n" -le 100 ] || fail "modetest did not set a mode within 10 s"
		sleep 0.1
	done
	sleep 0.5
fi

"$REDOX_DRM_RUN" -- "$bench" "$@" >"$work/bench.log" 2>"$work/stderr.log"
status=$?
[ "$status" -eq 0 ] || fail "$name $* exited with $status"
figures=$(grep -cE '^ *-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)? *$' "$work/bench.log")
[ "$figures" -ge "$min" ] || fail "$name printed $figures figure line(s), expected at least $min"
echo "$name $*:"
cat "$work/bench.log"
exit 0
