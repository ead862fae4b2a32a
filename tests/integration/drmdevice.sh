#!/bin/sh
# libdrm's drmdevice, run through redox-drm-run against a private daemon,
# must list both simulated GPUs with their PCI identity, each with a
# primary and a render node, and open every node.
set -u

: "${REDOX_DRM_RUN:?REDOX_DRM_RUN must name the redox-drm-run executable}"
command -v drmdevice >/dev/null 2>&1 || { echo "SKIP: drmdevice is not installed"; exit 77; }
unset REDOX_DRM_RUNTIME_DIR # always a private daemon

out=$("$REDOX_DRM_RUN" -- drmdevice 2>&1)
rc=$?
printf '%s\n' "$out"
if [ "$rc" -ne 0 ]; then
	echo "FAIL: drmdevice exited with status $rc"
	exit 1
fi

printf '%s\n' "$out" | awk '
	function flush() {
		if (vendor != "" && dev != "") {
			key = vendor ":" dev
			seen[key]++
			if (card == 1 && render == 1)
				nodes_ok[key]++
		}
		vendor = ""; dev = ""; card = 0; render = 0
	}
	/^--- Devices reported / { reported = $4 }
	/^device\[/ { flush() }
	/^---/ { flush() }
	/nodes\[0\] \/dev\/dri\/card[0-9]+$/ { card++ }
	/nodes\[2\] \/dev\/dri\/renderD[0-9]+$/ { render++ }
	$2 == "vendor_id" { vendor = $NF }
	$2 == "device_id" { dev = $NF }
	/^--- Retrieving device info, for node / { opened++ }
	/^Failed/ { failed++ }
	END {
		flush()
		bad = 0
		if (reported != 2) { print "FAIL: expected 2 devices, drmdevice reported " reported; bad = 1 }
		split("1002:687f 8086:1912", want, " ")
		for (i = 1; i <= 2; i++) {
			if (!seen[want[i]]) { print "FAIL: no device " want[i]; bad = 1 }
			else if (nodes_ok[want[i]] != seen[want[i]]) {
				print "FAIL: device " want[i] " lacks a card or render node"; bad = 1
			}
		}
		if (opened != 4) { print "FAIL: expected 4 nodes opened, got " opened + 0; bad = 1 }
		if (failed) { print "FAIL: " failed " failure(s) reported"; bad = 1 }
		if (!bad) print "PASS"
		exit bad
	}'
