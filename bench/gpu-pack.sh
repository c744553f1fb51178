#!/usr/bin/env bash
# Packs what bench/gpu-device-check.sh needs on a GPU machine that may have no Node, no npm and no
# network, into .gpu-carry/ (git-ignored; carry it with the working tree):
#   node.xz            this machine's node binary
#   node_modules.tar.xz the production dependencies plus tsx/esbuild, without source maps and
#                       without Dawn builds for other platforms
#   libvulkan.so.1     Debian's Vulkan loader (Dawn opens it; NVIDIA's driver ships only the ICD)
# Run after `npm ci` (and with libvulkan1 installed) on an x86-64 Linux machine.
set -euo pipefail
cd "$(dirname "$0")/.."
out=.gpu-carry
rm -rf "$out" && mkdir -p "$out"
xz -T0 -6 -c "$(command -v node)" > "$out/node.xz"
loader=$(ldconfig -p | awk '/libvulkan\.so\.1 .*x86-64/ {print $NF; exit}')
[ -n "$loader" ] || { echo "gpu-pack: libvulkan.so.1 not found (apt-get install libvulkan1)" >&2; exit 2; }
cp -L "$loader" "$out/libvulkan.so.1"
# Production dependencies (npm's own list) plus the TypeScript runner.
mapfile -t deps < <(npm ls --omit=dev --all --parseable 2>/dev/null | sed -n "s#^$PWD/##p" | grep '^node_modules/' | sort -u)
for extra in node_modules/tsx node_modules/esbuild node_modules/@esbuild node_modules/get-tsconfig node_modules/resolve-pkg-maps; do
  [ -e "$extra" ] && deps+=("$extra")
done
tar -c --exclude='*.map' --exclude='node_modules/webgpu/dist/darwin-*' --exclude='node_modules/webgpu/dist/win32-*' \
  --exclude='node_modules/webgpu/dist/linux-arm64' --exclude='node_modules/vega*' --exclude='node_modules/@resvg' \
  --exclude='node_modules/playwright-core' --exclude='*.d.ts' "${deps[@]}" 2>/dev/null | xz -T0 -6 > "$out/node_modules.tar.xz"
du -ch "$out"/* | sed 's/^/gpu-pack: /'
