#!/usr/bin/env bash
# Installs the Debian packages redox-drm builds and tests with (Debian 12).
set -euo pipefail

packages=(
	gcc clang libclang-rt-14-dev meson ninja-build pkg-config python3
	libdrm-dev libpciaccess-dev libcmocka-dev libpng-dev
	# real clients the tests and the demo run through the interposer
	libdrm-tests drm-info kmscube weston
	# intel-gpu-tools benchmarks, eglinfo, and the EGL/GLES headers of the GL test programs
	intel-gpu-tools mesa-utils libegl-dev libgles-dev libgbm-dev
)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
