#!/bin/sh
# gl_finish (tests/clients) on card0's render node through redox-drm-run,
# once through GBM and once through the EGL device: a GLES context on
# radeonsi, glClear, glFinish (a real submission and its fence) and
# glReadPixels, all without errors. Pixel values are not checked: the model
# does not run shaders.
set -u

: "${REDOX_DRM_RUN:?REDOX_DRM_RUN must name the redox-drm-run executable}"
: "${GL_FINISH:?GL_FINISH must name the gl_finish executable}"
unset REDOX_DRM_RUNTIME_DIR # always a private daemon

status=0
for mode in gbm device; do
	out=$("$REDOX_DRM_RUN" -- "$GL_FINISH" "$mode" /dev/dri/renderD128 2>&1)
	rc=$?
	printf '%s\n' "$out"
	if [ "$rc" -ne 0 ]; then
		echo "FAIL: gl_finish $mode exited with status $rc"
		status=1
		continue
	fi
	renderer=$(printf '%s\n' "$out" | sed -n 's/^GL_RENDERER: //p')
	case "$renderer" in
	"AMD Radeon"*) echo "ok: $mode: $renderer" ;;
	*) echo "FAIL: gl_finish $mode ran on \"$renderer\", not radeonsi's AMD Radeon"; status=1 ;;
	esac
done
exit $status
