#!/usr/bin/env bash
# GPU figures for docs/performance.md, in one go, on one CUDA GPU:
#   1. training samples/s of ResNet-20/56/110, fp32 vs bf16, on synthetic CIFAR-shaped data
#      (benchmarks/gpu_throughput.py), then ResNet-56 bf16 with torch.compile, then ResNet-56
#      in tf32 and with deterministic kernels (the cost of train.deterministic);
#   2. a short real sweep through `resbench run` (benchmarks/gpu-sweep.yaml, synthetic data).
#
# Meant for a GPU machine that has torch, typer, rich, pandas, pyyaml and pytest but NOT
# pydantic or mnist1d. Part 1 needs torch only. Part 2 needs pydantic (resbench's sweep schema)
# and is skipped with a note where it is missing; mnist1d is never needed here. No dataset is
# downloaded: both parts use random data.
#
#   bash benchmarks/gpu.sh                  # about 5 minutes on one recent GPU (an estimate)
#   STEPS=30 bash benchmarks/gpu.sh         # fewer timed steps per measurement
#   PYTHON=/path/to/python bash benchmarks/gpu.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
STEPS=${STEPS:-100}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"  # this checkout, installed or not

if ! "$PY" -c "import torch, sys; sys.exit(not torch.cuda.is_available())"; then
  echo "gpu.sh: no CUDA device visible to $PY (torch.cuda.is_available() is False)" >&2
  exit 2
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true

echo "== 1. throughput: ResNet-20/56/110 (residual, option A), batch 128, fp32 vs bf16"
"$PY" benchmarks/gpu_throughput.py --depths 20,56,110 --precisions fp32,bf16 --steps "$STEPS"

echo "== 1b. the same step compiled: ResNet-56, bf16, torch.compile (first steps compile)"
"$PY" benchmarks/gpu_throughput.py --depths 56 --precisions bf16 --steps "$STEPS" \
  --warmup-steps 30 --compile || echo "torch.compile failed here; the figures above stand"

echo "== 1c. arithmetic: ResNet-56 in tf32, and fp32/tf32 with deterministic kernels"
"$PY" benchmarks/gpu_throughput.py --depths 56 --precisions tf32 --steps "$STEPS"
"$PY" benchmarks/gpu_throughput.py --depths 56 --precisions fp32,tf32 --steps "$STEPS" \
  --deterministic

echo "== 2. a short real sweep: resbench run benchmarks/gpu-sweep.yaml"
if "$PY" -c "import pydantic" 2>/dev/null; then
  out=$(mktemp -d)
  "$PY" -m resbench run benchmarks/gpu-sweep.yaml --out "$out"
  echo "records and CSVs: $out/gpu-smoke"
else
  echo "skipped: pydantic is not installed here (resbench's sweep schema needs it)"
fi
