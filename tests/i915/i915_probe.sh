#!/bin/sh
# The libdrm i915 probe against a private daemon through the interposer.
set -u
: "${REDOX_DRM_RUN:?REDOX_DRM_RUN must name the redox-drm-run executable}"
: "${I915_PROBE:?I915_PROBE must name the i915_probe executable}"
unset REDOX_DRM_RUNTIME_DIR # always a private daemon
exec "$REDOX_DRM_RUN" -- "$I915_PROBE"
