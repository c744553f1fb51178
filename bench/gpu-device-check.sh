#!/usr/bin/env bash
# The webgpu backend on a real GPU, in one go: which adapter and driver Dawn finds, the parity tests
# against tfjs' cpu backend (test/backend-webgpu.test.ts), and `bench:gpu` (with PyTorch's ratios
# where torch finds CUDA). Usage, from the repository root:
#   bash bench/gpu-device-check.sh [--small] [--no-tests]
# Where the machine has no Node or no node_modules, run bench/gpu-pack.sh on a machine that has
# them first and carry its .gpu-carry/ along: this script unpacks it. NVIDIA's driver provides the
# Vulkan ICD (libGLX_nvidia.so.0); the loader (libvulkan.so.1) comes from Debian's libvulkan1, in
# .gpu-carry/ when the machine lacks it. Prints everything; writes a copy under $OUT when set.
set -uo pipefail
cd "$(dirname "$0")/.."
small=""; tests=1
for a in "$@"; do case "$a" in --small) small="--small" ;; --no-tests) tests=0 ;; *) echo "unknown argument $a" >&2; exit 2 ;; esac; done
log=${OUT:-/tmp}/gpu-device-check.log
exec > >(tee "$log") 2>&1
carry=.gpu-carry
if ! command -v node >/dev/null 2>&1; then
  [ -f "$carry/node.xz" ] || { echo "no node here and no $carry/node.xz (bench/gpu-pack.sh)"; exit 2; }
  mkdir -p /tmp/rf-node/bin && xz -dc "$carry/node.xz" > /tmp/rf-node/bin/node && chmod +x /tmp/rf-node/bin/node
  export PATH=/tmp/rf-node/bin:$PATH
fi
if [ ! -d node_modules/webgpu ]; then
  [ -f "$carry/node_modules.tar.xz" ] || { echo "no node_modules here and no $carry/node_modules.tar.xz"; exit 2; }
  tar -xJf "$carry/node_modules.tar.xz"
fi
if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1 '; then
  [ -f "$carry/libvulkan.so.1" ] || { echo "no Vulkan loader here and none in $carry"; exit 2; }
  mkdir -p /tmp/rf-vulkan && cp "$carry/libvulkan.so.1" /tmp/rf-vulkan/ && export LD_LIBRARY_PATH=/tmp/rf-vulkan${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fi
# NVIDIA containers often have the driver's libraries but not its ICD manifest.
if [ -z "${VK_ICD_FILENAMES:-}" ] && ! ls /usr/share/vulkan/icd.d/nvidia* /etc/vulkan/icd.d/nvidia* >/dev/null 2>&1 \
  && ldconfig -p 2>/dev/null | grep -q libGLX_nvidia.so.0; then
  printf '{"file_format_version":"1.0.0","ICD":{"library_path":"libGLX_nvidia.so.0","api_version":"1.3"}}\n' > /tmp/rf-nvidia_icd.json
  export VK_ICD_FILENAMES=/tmp/rf-nvidia_icd.json
  echo "using a written NVIDIA ICD manifest: $VK_ICD_FILENAMES"
fi
echo "== $(date -u +%FT%TZ) $(uname -m) node $(node --version)"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.cuda.is_available())' 2>&1 | tail -1
echo "== adapter"
node --import tsx --input-type=module -e "const w = await import('./ml/backend/webgpu.ts'); const p = await w.probeWebgpuAdapter(); console.log(p.adapter ? w.describeAdapter(p.adapter) : 'none: ' + p.reason);"
if [ "$tests" = 1 ]; then
  echo "== parity tests (webgpu against tfjs' cpu backend)"
  timeout 900 node --import tsx --test test/backend-webgpu.test.ts 2>&1 | grep -E '^(not )?ok|^# |max \|diff\||Error' || true
fi
echo "== bench:gpu $small"
timeout 1200 node --import tsx bench/gpu.ts $small 2>&1 | grep -v 'artificially reduced'
echo "== done; log: $log"
