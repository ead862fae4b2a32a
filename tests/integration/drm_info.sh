#!/bin/sh
# drm_info -j, run through redox-drm-run against a private daemon, must
# succeed and describe an amdgpu and an i915 device.
set -u

: "${REDOX_DRM_RUN:?REDOX_DRM_RUN must name the redox-drm-run executable}"
command -v drm_info >/dev/null 2>&1 || { echo "SKIP: drm_info is not installed"; exit 77; }
command -v python3 >/dev/null 2>&1 || { echo "SKIP: python3 is not installed"; exit 77; }
unset REDOX_DRM_RUNTIME_DIR

json=$(mktemp "${TMPDIR:-/tmp}/drm_info.XXXXXX") || exit 1
trap 'rm -f "$json"' EXIT

"$REDOX_DRM_RUN" -- drm_info -j >"$json"
rc=$?
if [ "$rc" -ne 0 ]; then
	cat "$json"
	echo "FAIL: drm_info -j exited with status $rc"
	exit 1
fi

python3 - "$json" <<'PY'
import json, sys

def pci_ids(obj):
    """The first object below obj carrying integer vendor and device ids."""
    if isinstance(obj, dict):
        if isinstance(obj.get("vendor"), int) and isinstance(obj.get("device"), int):
            return obj["vendor"], obj["device"]
        for v in obj.values():
            ids = pci_ids(v)
            if ids:
                return ids
    return None

with open(sys.argv[1]) as f:
    data = json.load(f)
if not isinstance(data, dict) or not data:
    sys.exit("FAIL: drm_info printed no devices")

found = {}
for node, info in sorted(data.items()):
    drv = (info.get("driver") or {}).get("name")
    ids = pci_ids(info.get("device"))
    print("%s: driver %s, pci %s" % (node, drv, "%04x:%04x" % ids if ids else "?"))
    found[drv] = ids

bad = False
for drv, ids in (("amdgpu", (0x1002, 0x687f)), ("i915", (0x8086, 0x1912))):
    if drv not in found:
        print("FAIL: no %s device" % drv)
        bad = True
    elif found[drv] != ids:
        print("FAIL: %s reports PCI id %s" % (drv, found[drv]))
        bad = True
if bad:
    sys.exit(1)
print("PASS")
PY
