#!/bin/sh
# weston 10 with its DRM backend (pixman renderer, direct launcher), started
# through redox-drm-run against a daemon of its own, with weston-simple-shm
# as a Wayland client. For each card, a capture of the card's screen must
# show the configured background colour, exactly, everywhere except one
# 250x250 window (simple-shm's buffer size), and the window's contents must
# change between two captures (the client animates, so weston keeps taking
# its frames and committing them to the display). Weston must exit on
# SIGTERM with status 0, and so must the daemon. screen_window.c checks the
# captures.
#
# card0 is found the way weston finds a GPU by itself (libudev: the seat's
# drm devices, the boot_vga one first); card1 is asked for by name.
set -u

: "${REDOX_DRM_RUN:?REDOX_DRM_RUN must name the redox-drm-run executable}"
: "${REDOX_DRMD:?REDOX_DRMD must name the redox-drmd executable}"
: "${REDOX_DRM_CAPTURE:?REDOX_DRM_CAPTURE must name the redox-drm-capture executable}"
: "${SCREEN_WINDOW:?SCREEN_WINDOW must name the screen_window test helper}"
for tool in weston weston-simple-shm; do
	command -v "$tool" >/dev/null 2>&1 || { echo "SKIP: $tool is not installed"; exit 77; }
done
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
win=250 # weston-simple-shm's buffer is 250x250
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
			"$SCREEN_WINDOW" "$bg" "$win" "$win" "$work/a.png" >"$work/check.out" 2>&1; then
			break
		fi
		n=$((n + 1))
		[ "$n" -le 40 ] || { cat "$work/check.out"; fail "card$card: no window on the screen after 40 captures"; }
		sleep 0.3
	done
	sleep 0.5
	"$REDOX_DRM_CAPTURE" --card "$card" -o "$work/b.png" >/dev/null || fail "card$card: capture failed"
	"$SCREEN_WINDOW" "$bg" "$win" "$win" "$work/a.png" "$work/b.png" >"$work/check.out" 2>&1
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
