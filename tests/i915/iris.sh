#!/bin/sh
# Mesa's iris driver on card1 (the Skylake GT2 model) through redox-drm-run:
#  - eglinfo with EGL_PLATFORM=surfaceless: the surfaceless platform takes the
#    first render node whose driver initialises, so card0's nodes are hidden
#    (REDOX_DRM_HIDE) and it must come up on renderD129 with driver "iris";
#  - the EGL device platform lists renderD129 with driver "iris" (no hiding);
#  - tests/clients/gl_finish on renderD129, through the EGL device and through
#    GBM: a GLES context that clears, finishes and reads a pixel back without
#    errors, reporting Intel's Skylake GT2 renderer.
# Exits 77 (skipped) when eglinfo is not installed.
set -u
: "${REDOX_DRM_RUN:?REDOX_DRM_RUN must name the redox-drm-run executable}"
: "${GL_FINISH:?GL_FINISH must name the gl_finish client}"
command -v eglinfo >/dev/null 2>&1 || { echo "SKIP: eglinfo is not installed"; exit 77; }
unset REDOX_DRM_RUNTIME_DIR WAYLAND_DISPLAY DISPLAY
out=$(mktemp "${TMPDIR:-/tmp}/iris.XXXXXX") || exit 1
trap 'rm -f "$out"' EXIT
fail() {
	echo "FAIL: $*"
	tail -n 40 "$out"
	exit 1
}

# eglinfo prints every platform, the surfaceless one is the section under test;
# its exit status counts the platforms that failed (Wayland and X11 have no
# server here), so it is not looked at.
EGL_PLATFORM=surfaceless REDOX_DRM_HIDE=/dev/dri/card0:/dev/dri/renderD128 \
	"$REDOX_DRM_RUN" -- eglinfo >"$out" 2>&1
driver=$(sed -n '/^Surfaceless platform:/,/^$/s/^EGL driver name: //p' "$out")
[ "$driver" = iris ] || fail "surfaceless platform driver is '$driver', expected iris"
echo "surfaceless platform: EGL driver name: $driver"

"$REDOX_DRM_RUN" -- eglinfo >"$out" 2>&1
n=$(grep -c '^EGL driver name: iris$' "$out")
[ "$n" -ge 1 ] || fail "no EGL device with driver iris"

for platform in device gbm; do
	"$REDOX_DRM_RUN" -- "$GL_FINISH" "$platform" /dev/dri/renderD129 >"$out" 2>&1 ||
		fail "gl_finish $platform on renderD129 failed"
	renderer=$(grep -o 'Mesa Intel.*' "$out" | head -n 1)
	echo "gl_finish $platform: ${renderer:-?}"
	echo "$renderer" | grep -qE '^Mesa Intel.*\(SKL GT2\)' || fail "gl_finish $platform: the renderer is not Skylake GT2"
done
exit 0
