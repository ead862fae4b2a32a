#!/bin/sh
# libudev (as weston and intel_gpu_top use it) must find the simulated GPUs
# by enumerating sysfs: four drm minors with device nodes, each with a PCI
# parent that has the right vendor, and both PCI devices in the "pci"
# subsystem, and each drm minor with its udev database entry (initialized,
# ID_PATH, seat tags on card nodes). libudev is driven through python3's
# ctypes.
set -u

: "${REDOX_DRM_RUN:?REDOX_DRM_RUN must name the redox-drm-run executable}"
command -v python3 >/dev/null 2>&1 || { echo "SKIP: python3 is not installed"; exit 77; }
python3 -c 'import ctypes; ctypes.CDLL("libudev.so.1")' 2>/dev/null || { echo "SKIP: no libudev.so.1"; exit 77; }
unset REDOX_DRM_RUNTIME_DIR

script=$(mktemp "${TMPDIR:-/tmp}/udev.XXXXXX") || exit 1
trap 'rm -f "$script"' EXIT
cat >"$script" <<'PY'
import ctypes, sys

u = ctypes.CDLL("libudev.so.1")
P, S = ctypes.c_void_p, ctypes.c_char_p
def fn(name, res, *args):
    f = getattr(u, name)
    f.restype, f.argtypes = res, list(args)
    return f
udev_new = fn("udev_new", P)
enum_new = fn("udev_enumerate_new", P, P)
match_subsystem = fn("udev_enumerate_add_match_subsystem", ctypes.c_int, P, S)
scan = fn("udev_enumerate_scan_devices", ctypes.c_int, P)
first = fn("udev_enumerate_get_list_entry", P, P)
next_entry = fn("udev_list_entry_get_next", P, P)
entry_name = fn("udev_list_entry_get_name", S, P)
from_syspath = fn("udev_device_new_from_syspath", P, P, S)
devnode = fn("udev_device_get_devnode", S, P)
parent_with = fn("udev_device_get_parent_with_subsystem_devtype", P, P, S, S)
sysattr = fn("udev_device_get_sysattr_value", S, P, S)
initialized = fn("udev_device_get_is_initialized", ctypes.c_int, P)
prop = fn("udev_device_get_property_value", S, P, S)
has_tag = fn("udev_device_has_tag", ctypes.c_int, P, S)

ud = udev_new()
def enumerate(subsystem):
    e = enum_new(ud)
    match_subsystem(e, subsystem)
    if scan(e) < 0:
        sys.exit("FAIL: scanning %s failed" % subsystem.decode())
    out, ent = [], first(e)
    while ent:
        out.append(entry_name(ent).decode())
        ent = next_entry(ent)
    return out

bad = False
nodes = {}
for path in enumerate(b"drm"):
    d = from_syspath(ud, path.encode())
    node = d and devnode(d)
    if not node:
        continue
    pci = parent_with(d, b"pci", None)
    vendor = pci and sysattr(pci, b"vendor")
    nodes[node.decode()] = vendor.decode() if vendor else None
    print("%s -> %s (vendor %s)" % (path, node.decode(), nodes[node.decode()]))
    # udev's database entry: initialized, path_id's ID_PATH, seat tags on primary nodes, the default seat
    slot = pci and sysattr(pci, b"uevent")
    want_path = None
    for line in (slot or b"").decode().splitlines():
        if line.startswith("PCI_SLOT_NAME="):
            want_path = "pci-" + line.split("=", 1)[1]
    id_path = prop(d, b"ID_PATH")
    card = "/card" in node.decode()
    if not initialized(d) or id_path is None or id_path.decode() != want_path:
        print("FAIL: %s: initialized %d, ID_PATH %s (want %s)" % (node.decode(), initialized(d), id_path, want_path))
        bad = True
    if bool(has_tag(d, b"seat")) != card or prop(d, b"ID_SEAT") is not None:
        print("FAIL: %s: seat tag %d, ID_SEAT %s" % (node.decode(), has_tag(d, b"seat"), prop(d, b"ID_SEAT")))
        bad = True
if sorted(nodes) != ["/dev/dri/card0", "/dev/dri/card1", "/dev/dri/renderD128", "/dev/dri/renderD129"]:
    print("FAIL: drm device nodes are %s" % sorted(nodes))
    bad = True
if sorted(v for v in nodes.values() if v) != ["0x1002", "0x1002", "0x8086", "0x8086"]:
    print("FAIL: PCI parents' vendors are %s" % sorted(map(str, nodes.values())))
    bad = True

gpus = [p for p in enumerate(b"pci") if sysattr(from_syspath(ud, p.encode()), b"class") == b"0x030000"]
print("pci display devices:", gpus)
if len(gpus) < 2:
    print("FAIL: expected both GPUs in the pci subsystem")
    bad = True
sys.exit(1 if bad else 0)
PY

"$REDOX_DRM_RUN" -- python3 "$script"
rc=$?
[ "$rc" -eq 0 ] && echo PASS || echo "FAIL: status $rc"
exit "$rc"
