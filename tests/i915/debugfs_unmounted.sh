#!/bin/sh
# With no debugfs mounted at /sys/kernel/debug (a private mount namespace
# where it is unmounted), the tree's debugfs stands there whole: IGT's
# mount-point test passes, so IGT does not mount debugfs itself (it would as
# root, hiding the tree's files), and its drop_caches writes reach the
# daemon. Runs the cpu_access checks and gem_prw there, then checks that
# nothing got mounted. Exits 77 (skipped) without mount namespaces.
set -u
: "${REDOX_DRM_RUN:?REDOX_DRM_RUN must name the redox-drm-run executable}"
: "${I915_CPU_ACCESS:?I915_CPU_ACCESS must name the i915_cpu_access test program}"
unset REDOX_DRM_RUNTIME_DIR
if [ "${IN_NAMESPACE:-}" != 1 ]; then
	command -v unshare >/dev/null 2>&1 || { echo "SKIP: no unshare"; exit 77; }
	unshare -m true 2>/dev/null || { echo "SKIP: no mount namespaces here"; exit 77; }
	IN_NAMESPACE=1 exec unshare -m "$0" "$@"
fi
if [ "$(stat -f -c %T /sys/kernel/debug 2>/dev/null)" = debugfs ]; then
	umount /sys/kernel/debug 2>/dev/null || { echo "SKIP: cannot unmount debugfs"; exit 77; }
fi
[ "$(stat -f -c %T /sys/kernel/debug 2>/dev/null)" != debugfs ] || { echo "SKIP: debugfs stays mounted"; exit 77; }

"$REDOX_DRM_RUN" -- "$I915_CPU_ACCESS" || { echo "FAIL: the checks failed with debugfs unmounted"; exit 1; }
bench=/usr/libexec/igt-gpu-tools/benchmarks/gem_prw
if [ -x "$bench" ]; then
	out=$("$REDOX_DRM_RUN" -- "$bench" -r 1 -D write 2>&1) || { echo "FAIL: gem_prw: $out"; exit 1; }
	echo "gem_prw with debugfs unmounted: $(echo "$out" | grep -cE '^ *[0-9.]+$') figures"
fi
[ "$(stat -f -c %T /sys/kernel/debug 2>/dev/null)" != debugfs ] || { echo "FAIL: a client mounted debugfs"; exit 1; }
exit 0
