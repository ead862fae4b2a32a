#!/usr/bin/env bash
# The main job: redox-drmd on its two simulated GPUs, kmscube (Mesa GBM/EGL
# with the kms_swrast driver) rendering through page flips on card0's
# display, and a PNG of what that display shows.
#
#   scripts/demo.sh [OUTPUT.png] [CARD]
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(realpath -m "${1:-screen.png}")
card=${2:-0}

scripts/deps.sh
[ -d build ] || meson setup build >/dev/null
ninja -C build >/dev/null

dir=$(mktemp -d)
log=$dir.kmscube.log
build/daemon/redox-drmd --runtime-dir "$dir" --log-level warn &
daemon=$!
cleanup() {
	kill "$daemon" 2>/dev/null || true
	wait "$daemon" 2>/dev/null || true
	rm -rf "$dir" "$log"
}
trap cleanup EXIT
for _ in $(seq 100); do [ -e "$dir/ready" ] && break; sleep 0.05; done
[ -e "$dir/ready" ] || { echo "redox-drmd did not start" >&2; exit 1; }
export REDOX_DRM_RUNTIME_DIR=$dir

echo "kmscube on card$card ..."
# kmscube stops when its stdin becomes readable: give it one that never does.
mkfifo "$dir.stdin"
exec 3<>"$dir.stdin"
rm -f "$dir.stdin"
MESA_LOADER_DRIVER_OVERRIDE=kms_swrast \
	build/tools/redox-drm-run -- kmscube -D "/dev/dri/card$card" -c 240 <&3 >"$log" 2>&1 &
client=$!
# Wait for its first modeset (the capture fails while the display is off), let it spin, look.
for _ in $(seq 300); do
	build/tools/redox-drm-capture --card "$card" -o "$out" >/dev/null 2>&1 && break
	sleep 0.1
done
sleep 2
build/tools/redox-drm-capture --card "$card" -o "$out"
wait "$client" || { cat "$log" >&2; exit 1; }
grep "Rendered" "$log" | tail -n 1
echo "The screen of card$card is in $out"
