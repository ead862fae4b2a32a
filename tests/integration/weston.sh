#!/bin/sh
# weston 10 with its DRM backend (pixman renderer, direct launcher), started
# through redox-drm-run against a daemon of its own, with weston-simple-shm
# as a Wayland client. For each card, a capture of the card's screen must
# show the configured background colour, exactly, everywhere except one
# 250x250 window (simple-shm's buffer size), and the window's contents must
# change between two captures (the client animates, so weston keeps taking
# its frames and committing them to the display). Weston must exit on
# SIGTERM with status 0, and so must the daemon.
#
# card0 is found the way weston finds a GPU by itself (libudev: the seat's
# drm devices, the boot_vga one first); card1 is asked for by name.
set -u

: "${REDOX_DRM_RUN:?REDOX_DRM_RUN must name the redox-drm-run executable}"
: "${REDOX_DRMD:?REDOX_DRMD must name the redox-drmd executable}"
: "${REDOX_DRM_CAPTURE:?REDOX_DRM_CAPTURE must name the redox-drm-capture executable}"
for tool in weston weston-simple-shm python3; do
	command -v "$tool" >/dev/null 2>&1 || { echo "SKIP: $tool is not installed"; exit 77; }
done
# weston's direct launcher (the only one that works without logind) refuses to run as anyone else.
[ "$(id -u)" -eq 0 ] || { echo "SKIP: weston's direct launcher needs root"; exit 77; }
unset REDOX_DRM_RUNTIME_DIR WAYLAND_DISPLAY WAYLAND_SOCKET DISPLAY

work=$(mktemp -d "${TMPDIR:-/tmp}/weston-test.XXXXXX") || exit 1
daemon=
weston_pid=
client=
cleanup() {
	for p in $client $weston_pid $daemon; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() {
	echo "FAIL: $*"
	for f in "$work"/weston*.log "$work"/client*.log "$work"/daemon.log; do
		[ -s "$f" ] && { echo "--- $f"; tail -n 40 "$f"; }
	done
	exit 1
}

bg=204060
cat >"$work/weston.ini" <<EOF
[core]
require-input=false
idle-time=0

[shell]
background-color=0xff$bg
panel-position=none
locking=false
animation=none
close-animation=none
startup-animation=none
focus-animation=none
EOF

cat >"$work/check.py" <<'PY'
"""check.py BG A.png [B.png]: the screen is background colour BG (rrggbb)
except for one 250x250 window with a pattern in it; with B.png, the window is
in the same place there and its contents differ. Prints what it finds."""
import struct, sys, zlib

W = H = 250  # weston-simple-shm's buffer

def load(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        sys.exit("%s: not a PNG" % path)
    pos, idat, hdr = 8, [], None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if kind == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
    width, height, depth, ctype, _, _, interlace = hdr
    if depth != 8 or ctype not in (2, 6) or interlace:
        sys.exit("%s: unsupported PNG layout %s" % (path, hdr))
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        base = y * (stride + 1)
        f, line = raw[base], bytearray(raw[base + 1:base + 1 + stride])
        if f == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 255
        elif f == 2:
            line = bytearray((a + b) & 255 for a, b in zip(line, prev))
        elif f == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 255
        elif f == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b, c = prev[i], prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    # RGB only: the display has no alpha.
    if bpp == 4:
        rows = [bytes(b for i, b in enumerate(r) if i % 4 != 3) for r in rows]
    return width, height, rows

def window(path, bg):
    width, height, rows = load(path)
    bgrow = bg * width
    ys = [y for y, r in enumerate(rows) if r != bgrow]
    if not ys:
        return None, rows
    xs = set()
    for y in ys:
        r = rows[y]
        xs.update(x for x in range(width) if r[3 * x:3 * x + 3] != bg)
    return (min(xs), min(ys), max(xs) + 1, max(ys) + 1), rows

def region(rows, box):
    x0, y0, x1, y1 = box
    return [rows[y][3 * x0:3 * x1] for y in range(y0, y1)]

bg = bytes.fromhex(sys.argv[1])
box, rows = window(sys.argv[2], bg)
if box is None:
    sys.exit("%s: nothing but the background" % sys.argv[2])
w, h = box[2] - box[0], box[3] - box[1]
print("%s: window at %d,%d, %dx%d" % (sys.argv[2], box[0], box[1], w, h))
if (w, h) != (W, H):
    sys.exit("the pixels that differ from the background span %dx%d, not %dx%d" % (w, h, W, H))
inside = b"".join(region(rows, box))
pixels = {inside[i:i + 3] for i in range(0, len(inside), 3)}
other = sum(1 for i in range(0, len(inside), 3) if inside[i:i + 3] != bg)
print("  %d colours, %d of %d pixels unlike the background" % (len(pixels), other, W * H))
if len(pixels) < 64 or other < W * H // 2:
    sys.exit("the window does not hold simple-shm's pattern")
if len(sys.argv) > 3:
    box2, rows2 = window(sys.argv[3], bg)
    if box2 != box:
        sys.exit("%s: the window moved or changed size: %s" % (sys.argv[3], box2))
    changed = sum(a != b for a, b in zip(region(rows, box), region(rows2, box)))
    print("  %s: %d of %d window rows changed" % (sys.argv[3], changed, H))
    if changed == 0:
        sys.exit("the window did not change: the client's frames do not reach the screen")
PY

REDOX_DRM_RUNTIME_DIR="$work/rt"
export REDOX_DRM_RUNTIME_DIR
mkdir "$work/rt" || exit 1
"$REDOX_DRMD" --runtime-dir "$work/rt" --log-level warn >"$work/daemon.log" 2>&1 &
daemon=$!
n=0
while [ ! -e "$work/rt/ready" ]; do
	kill -0 "$daemon" 2>/dev/null || fail "the daemon exited before it was ready"
	n=$((n + 1))
	[ "$n" -le 100 ] || fail "the daemon was not ready after 10 s"
	sleep 0.1
done

run_card() {
	card=$1
	xdg="$work/xdg$card"
	mkdir -m 0700 "$xdg" || exit 1
	sock="redox-drm-test-$card"
	devopt=
	[ "$card" -ne 0 ] && devopt="--drm-device=card$card"
	# $devopt is empty or one word.
	# shellcheck disable=SC2086
	XDG_RUNTIME_DIR="$xdg" REDOX_DRM_HIDE=/dev/tty0 \
		"$REDOX_DRM_RUN" -- weston --backend=drm-backend.so --use-pixman $devopt \
		--config="$work/weston.ini" --socket="$sock" --log="$work/weston$card.log" \
		>"$work/weston$card.out" 2>&1 &
	weston_pid=$!
	n=0
	while [ ! -S "$xdg/$sock" ]; do
		kill -0 "$weston_pid" 2>/dev/null || { cat "$work/weston$card.out"; fail "card$card: weston exited during startup"; }
		n=$((n + 1))
		[ "$n" -le 200 ] || fail "card$card: weston made no Wayland socket in 20 s"
		sleep 0.1
	done
	grep -q "using /dev/dri/card$card\$" "$work/weston$card.log" ||
		fail "card$card: weston did not take /dev/dri/card$card"

	XDG_RUNTIME_DIR="$xdg" WAYLAND_DISPLAY="$sock" weston-simple-shm >"$work/client$card.log" 2>&1 &
	client=$!
	# The first captures may precede the shell's background or the window.
	n=0
	while :; do
		kill -0 "$client" 2>/dev/null || fail "card$card: weston-simple-shm exited"
		if "$REDOX_DRM_CAPTURE" --card "$card" -o "$work/a.png" >"$work/check.out" 2>&1 &&
			python3 "$work/check.py" "$bg" "$work/a.png" >"$work/check.out" 2>&1; then
			break
		fi
		n=$((n + 1))
		[ "$n" -le 40 ] || { cat "$work/check.out"; fail "card$card: no window on the screen after 40 captures"; }
		sleep 0.3
	done
	sleep 0.5
	"$REDOX_DRM_CAPTURE" --card "$card" -o "$work/b.png" >/dev/null || fail "card$card: capture failed"
	python3 "$work/check.py" "$bg" "$work/a.png" "$work/b.png" >"$work/check.out" 2>&1
	rc=$?
	sed "s|$work/||g" "$work/check.out"
	[ "$rc" -eq 0 ] || fail "card$card: the window is not simple-shm's animation"

	kill "$client"
	wait "$client" 2>/dev/null
	client=
	kill -TERM "$weston_pid"
	n=0
	while kill -0 "$weston_pid" 2>/dev/null; do
		n=$((n + 1))
		[ "$n" -le 100 ] || fail "card$card: weston ignored SIGTERM for 10 s"
		sleep 0.1
	done
	wait "$weston_pid"
	rc=$?
	weston_pid=
	[ "$rc" -eq 0 ] || fail "card$card: weston exited with status $rc after SIGTERM"
	echo "card$card: ok"
}

run_card 0
run_card 1

kill -TERM "$daemon"
wait "$daemon"
rc=$?
daemon=
[ "$rc" -eq 0 ] || fail "the daemon exited with status $rc"
echo PASS
