#!/usr/bin/env bash
# Prepares a software Vulkan driver (Mesa's lavapipe) for the webgpu backend on a machine without a
# GPU, beside the project in .webgpu-driver/ (git-ignored), without upgrading the system.
#
# Why: Dawn (npm `webgpu`) refuses Debian 12's stock Mesa 22.3 lavapipe (a missing Vulkan indexing
# feature); Mesa 25 from bookworm-backports works. We `apt-get download` its packages and unpack them
# with `dpkg-deb -x`, then write an ICD file pointing at the unpacked driver. core's webgpu setup
# (packages/core/src/tf/webgpu.ts) finds .webgpu-driver/ by itself: nobody sets variables by hand.
#
# Usage: scripts/prepare-webgpu.sh [--force]    (idempotent: does nothing when the driver is there)
# A machine with a GPU does not need this: its driver's Vulkan ICD is found in the standard places.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/.webgpu-driver"
icd="$dest/lvp_icd.json"
libdir="$dest/usr/lib/x86_64-linux-gnu"

if [ "${1:-}" = "--help" ] || [ "${1:-}" = "-h" ]; then
  sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi
if [ -f "$icd" ] && [ -f "$libdir/libvulkan_lvp.so" ] && [ "${1:-}" != "--force" ]; then
  echo "webgpu software driver: ready in .webgpu-driver/"
  exit 0
fi
if [ "$(dpkg --print-architecture 2>/dev/null)" != "amd64" ] || ! command -v apt-get >/dev/null; then
  echo "prepare-webgpu: this script needs Debian 12 (bookworm) on amd64; elsewhere install Mesa >= 24 lavapipe (or use a GPU) and set VK_DRIVER_FILES" >&2
  exit 1
fi

# Pinned versions: the ones the project is tested with.
packages=(
  mesa-vulkan-drivers=25.0.7-2~bpo12+1
  libdrm2=2.4.123-1~bpo12+1
  libdrm-amdgpu1=2.4.123-1~bpo12+1
)
# Stock bookworm libraries the driver needs, when the system lacks them.
for lib in libvulkan1:libvulkan.so.1 libllvm15:libLLVM-15.so.1 libz3-4:libz3.so.4 libsensors5:libsensors.so.5 libelf1:libelf.so.1 libxcb-randr0:libxcb-randr.so.0 libxcb-shm0:libxcb-shm.so.0 libxshmfence1:libxshmfence.so.1 libwayland-client0:libwayland-client.so.0 libx11-xcb1:libX11-xcb.so.1 libxcb-dri3-0:libxcb-dri3.so.0 libxcb-present0:libxcb-present.so.0 libxcb-sync1:libxcb-sync.so.1 libxcb-xfixes0:libxcb-xfixes.so.0 libxcb1:libxcb.so.1; do
  ldconfig -p | grep -qE "^\s+${lib#*:} " || packages+=("${lib%%:*}")
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/sources" "$work/debs"
# apt sees bookworm and bookworm-backports through lists of its own: the system's apt state is untouched.
cat > "$work/sources/gradsign.sources" <<'EOF'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
apt_opts=(-o "Dir::Etc::sourcelist=/dev/null" -o "Dir::Etc::sourceparts=$work/sources" -o "Dir::State::Lists=$work/lists" -o "Debug::NoLocking=1" -o "APT::Sandbox::User=root")
echo "webgpu software driver: fetching ${packages[*]}"
apt-get "${apt_opts[@]}" update -qq
(cd "$work/debs" && apt-get "${apt_opts[@]}" download "${packages[@]}" >/dev/null)

rm -rf "$dest.tmp"
mkdir -p "$dest.tmp"
for deb in "$work"/debs/*.deb; do dpkg-deb -x "$deb" "$dest.tmp"; done
cat > "$dest.tmp/lvp_icd.json" <<EOF
{"file_format_version": "1.0.0", "ICD": {"api_version": "1.4.305", "library_path": "$libdir/libvulkan_lvp.so"}}
EOF
missing="$(LD_LIBRARY_PATH="$dest.tmp/usr/lib/x86_64-linux-gnu" ldd "$dest.tmp/usr/lib/x86_64-linux-gnu/libvulkan_lvp.so" | grep 'not found' || true)"
if [ -n "$missing" ]; then
  echo "prepare-webgpu: the driver needs libraries this machine lacks:" >&2
  echo "$missing" >&2
  echo "install them with apt-get, then rerun scripts/prepare-webgpu.sh" >&2
  exit 1
fi
rm -rf "$dest"
mv "$dest.tmp" "$dest"
echo "webgpu software driver: ready in .webgpu-driver/ ($(ls "$work"/debs | tr '\n' ' '))"
