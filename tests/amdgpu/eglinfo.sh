#!/bin/sh
# eglinfo (mesa-utils), run through redox-drm-run against a private daemon:
# Mesa's radeonsi must initialise on the Vega10 model (card0/renderD128) for
# the GBM and surfaceless platforms. AMD_DEBUG=info makes radeonsi print what
# it learnt from the amdgpu uAPI when its screen comes up, so the test also
# checks that it recognised the chip as a Vega10.
set -u

: "${REDOX_DRM_RUN:?REDOX_DRM_RUN must name the redox-drm-run executable}"
command -v eglinfo >/dev/null 2>&1 || { echo "SKIP: eglinfo is not installed"; exit 77; }
unset REDOX_DRM_RUNTIME_DIR # always a private daemon

out=$(AMD_DEBUG=info EGL_PLATFORM=surfaceless "$REDOX_DRM_RUN" -- eglinfo 2>&1)
rc=$?
printf '%s\n' "$out"
# eglinfo's status counts the platforms it could not initialise (Wayland and
# X11 have no server here); only a crash or a launcher failure is fatal.
if [ "$rc" -ge 125 ]; then
	echo "FAIL: eglinfo exited with status $rc"
	exit 1
fi

printf '%s\n' "$out" | awk '
	/^[A-Za-z0-9 ]+ platform:$/ { platform = $1 }
	/^EGL driver name:/ { driver[platform] = $4 }
	/^    name = / { name = $3 }
	/^    marketing_name = / { sub(/^    marketing_name = /, ""); marketing = $0 }
	/^radeonsi: / { print "radeonsi complained: " $0; bad = 1 }
	END {
		if (driver["GBM"] != "radeonsi") { print "FAIL: GBM platform driver is \"" driver["GBM"] "\", not radeonsi"; bad = 1 }
		if (driver["Surfaceless"] != "radeonsi") { print "FAIL: surfaceless platform driver is \"" driver["Surfaceless"] "\", not radeonsi"; bad = 1 }
		if (name != "VEGA10") { print "FAIL: radeonsi saw chip \"" name "\", not VEGA10"; bad = 1 }
		if (marketing !~ /^AMD Radeon/) { print "FAIL: marketing name \"" marketing "\" is not an AMD Radeon"; bad = 1 }
		exit bad
	}'
