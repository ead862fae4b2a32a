#!/bin/sh
# i915 command submission through the interposer against a private daemon whose engines
# are reset after half a second of a hung batch (so the hang test takes moments).
set -u
: "${REDOX_DRM_RUN:?REDOX_DRM_RUN must name the redox-drm-run executable}"
: "${I915_EXEC:?I915_EXEC must name the i915_exec executable}"
unset REDOX_DRM_RUNTIME_DIR # always a private daemon
export REDOX_DRM_I915_JOB_TIMEOUT_MS=500
exec "$REDOX_DRM_RUN" -- "$I915_EXEC"
