#!/usr/bin/env bash
# The GPU session's one prepared script: the whole test suite (gpu tests included) and the GPU
# benchmarks, on a machine with CuPy and an NVIDIA GPU. Results go to $OUT (default: gpu-out/).
#     bash benchmarks/gpu_check.sh
set -uo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-gpu-out}"
mkdir -p "$out"
{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  python -c "import cupy, numpy; print('cupy', cupy.__version__, 'numpy', numpy.__version__)"
} > "$out/device.txt" 2>&1
# the device machine has numpy, CuPy, pytest, pyyaml, tqdm and torch, and no network: use the
# working tree as it is rather than installing
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
python -m pytest -q -m gpu -rs > "$out/pytest-gpu.txt" 2>&1
python -m pytest -q -x > "$out/pytest-all.txt" 2>&1
python benchmarks/tape_overhead.py --device gpu > "$out/tape_overhead-gpu.txt" 2>&1
for batch in 128 4096; do
  python benchmarks/mlp_step.py --device gpu --batch "$batch" > "$out/mlp_step-gpu-$batch.txt" 2>&1
done
python benchmarks/fused_kernels.py --device gpu > "$out/fused_kernels-gpu.txt" 2>&1
tail -n 3 "$out"/*.txt
