#!/bin/sh
# kmscube on card0 with Mesa's radeonsi (no driver override), through
# redox-drm-run against a private daemon: GBM scanout buffers, GLES on the
# Vega10 model (command submission, fences) and page flips on its display.
# Shaders do not run, so only the frame count and the renderer are checked.
set -u

: "${REDOX_DRM_RUN:?REDOX_DRM_RUN must name the redox-drm-run executable}"
command -v kmscube >/dev/null 2>&1 || { echo "SKIP: kmscube is not installed"; exit 77; }
unset REDOX_DRM_RUNTIME_DIR MESA_LOADER_DRIVER_OVERRIDE

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kmscube.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
# kmscube stops when its stdin becomes readable: give it one that never does.
mkfifo "$tmp/stdin"
exec 3<>"$tmp/stdin"
frames=30
out=$("$REDOX_DRM_RUN" -- kmscube -D /dev/dri/card0 -c $frames <&3 2>&1)
rc=$?
exec 3>&-
printf '%s\n' "$out"
if [ "$rc" -ne 0 ]; then
	echo "FAIL: kmscube exited with status $rc"
	exit 1
fi
printf '%s\n' "$out" | grep -q '^  renderer: "AMD Radeon' || { echo "FAIL: kmscube did not run on radeonsi"; exit 1; }
# kmscube counts the frames after the first one.
rendered=$(printf '%s\n' "$out" | sed -n 's/^Rendered \([0-9]*\) frames.*/\1/p' | tail -n 1)
if [ -z "$rendered" ] || [ "$rendered" -lt $((frames - 1)) ]; then
	echo "FAIL: kmscube rendered ${rendered:-no} frames of $frames"
	exit 1
fi
echo "ok: kmscube rendered $frames frames on radeonsi"
