#!/bin/sh
# drm_info -j against a daemon started for this test: it must exit 0, and
# every plane of card$1 must carry an IN_FORMATS blob that agrees with the
# plane's format list and offers XRGB8888 (ARGB8888 on cursor planes) with
# the LINEAR modifier.
set -u

card=${1:?usage: drm_info_formats.sh CARD}
: "${REDOX_DRM_RUN:?REDOX_DRM_RUN must name the redox-drm-run executable}"
: "${REDOX_DRMD:?REDOX_DRMD must name the redox-drmd executable}"
command -v drm_info >/dev/null 2>&1 || { echo "SKIP: drm_info is not installed"; exit 77; }
command -v python3 >/dev/null 2>&1 || { echo "SKIP: python3 is not installed"; exit 77; }

dir=$(mktemp -d "${TMPDIR:-/tmp}/rdrm-drm_info.XXXXXX") || exit 1
json="$dir.json"
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null
	rm -rf "$dir" "$json"
}
trap cleanup EXIT

"$REDOX_DRMD" --runtime-dir "$dir" --log-level warn </dev/null &
pid=$!
i=0
while [ ! -e "$dir/ready" ]; do
	kill -0 "$pid" 2>/dev/null || { echo "FAIL: the daemon exited before it was ready"; exit 1; }
	i=$((i + 1))
	[ $i -gt 1000 ] && { echo "FAIL: the daemon was not ready after 10 s"; exit 1; }
	sleep 0.01
done

REDOX_DRM_RUNTIME_DIR=$dir "$REDOX_DRM_RUN" -- drm_info -j >"$json" 2>"$dir.err"
rc=$?
if grep -q 'undefined symbol: __[a-z]*san' "$dir.err"; then
	echo "SKIP: uninstrumented clients cannot load this build's interposer: $(head -n 1 "$dir.err")"
	rm -f "$dir.err"
	exit 77
fi
cat "$dir.err" >&2
rm -f "$dir.err"
if [ "$rc" -ne 0 ]; then
	cat "$json"
	echo "FAIL: drm_info -j exited with status $rc"
	exit 1
fi

python3 - "$json" "$card" <<'PY'
import json, sys

XR24, AR24 = 0x34325258, 0x34325241
LINEAR = 0
TYPES = {0: "overlay", 1: "primary", 2: "cursor"}

with open(sys.argv[1]) as f:
    data = json.load(f)
node = "/dev/dri/card" + sys.argv[2]
info = data.get(node)
if not info:
    sys.exit("FAIL: drm_info printed nothing for %s (it has %s)" % (node, sorted(data)))
planes = info.get("planes")
if not planes:
    sys.exit("FAIL: %s: no planes in drm_info's output (keys: %s)" % (node, sorted(info)))

bad = False
for p in planes:
    props = p.get("properties", {})
    kind = TYPES.get(props.get("type", {}).get("value"), "?")
    blob = props.get("IN_FORMATS")
    if not blob or not isinstance(blob.get("data"), list):
        print("FAIL: plane %d (%s) has no decoded IN_FORMATS blob" % (p["id"], kind))
        bad = True
        continue
    by_mod = {}
    for entry in blob["data"]:
        by_mod.setdefault(entry["modifier"], set()).update(entry["formats"])
    linear = by_mod.get(LINEAR, set())
    want = AR24 if kind == "cursor" else XR24
    if want not in linear:
        print("FAIL: plane %d (%s): IN_FORMATS has no %s with LINEAR: %s"
              % (p["id"], kind, "AR24" if want == AR24 else "XR24", blob["data"]))
        bad = True
    # The blob and GETPLANE's list describe the same formats.
    listed = set(p.get("formats", []))
    offered = set().union(*by_mod.values()) if by_mod else set()
    if listed != offered:
        print("FAIL: plane %d (%s): IN_FORMATS formats %s differ from the plane's %s"
              % (p["id"], kind, sorted(offered), sorted(listed)))
        bad = True
    print("plane %d (%s): %d formats, modifiers %s" % (p["id"], kind, len(linear), sorted(by_mod)))

kinds = [TYPES.get(p["properties"]["type"]["value"]) for p in planes]
if "primary" not in kinds or "cursor" not in kinds:
    print("FAIL: %s has planes %s; want primary and cursor planes" % (node, kinds))
    bad = True
if bad:
    sys.exit(1)
print("PASS: %s, %d planes" % (node, len(planes)))
PY
status=$?

kill -TERM "$pid"
wait "$pid"
drc=$?
pid=
if [ "$drc" -ne 0 ]; then
	echo "FAIL: the daemon exited with status $drc after SIGTERM"
	exit 1
fi
exit $status
