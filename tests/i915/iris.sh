#!/bin/sh
# Mesa's iris driver on card1 (the Skylake GT2 model) through redox-drm-run:
#  - eglinfo with EGL_PLATFORM=surfaceless: the surfaceless platform takes the
#    first render node whose driver initialises, so card0's nodes are hidden
#    (REDOX_DRM_HIDE) and it must come up on renderD129 with driver "iris";
#  - the EGL device platform lists renderD129 with driver "iris" (no hiding);
#  - a GLES context on renderD129 must report Intel's Skylake GT2 renderer.
# Exits 77 (skipped) when eglinfo is not installed.
set -u
: "${REDOX_DRM_RUN:?REDOX_DRM_RUN must name the redox-drm-run executable}"
: "${EGL_RENDERER:?EGL_RENDERER must name the egl_renderer test program}"
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

"$REDOX_DRM_RUN" -- "$EGL_RENDERER" /dev/dri/renderD129 >"$out" 2>&1 || fail "no GLES context on renderD129"
grep '^GL_' "$out"
grep -q '^GL_VENDOR: Intel' "$out" || fail "GL_VENDOR is not Intel"
grep -qE '^GL_RENDERER: .*Intel.*\(SKL GT2\)' "$out" || fail "GL_RENDERER does not name Skylake GT2"
exit 0
