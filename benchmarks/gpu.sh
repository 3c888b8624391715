#!/usr/bin/env bash
# GPU figures for docs/performance.md, in one go, on one CUDA GPU:
#   1. training samples/s of ResNet-20/56/110, fp32 vs bf16, on synthetic CIFAR-shaped data
#      (benchmarks/gpu_throughput.py), then ResNet-56 bf16 with torch.compile, then ResNet-56
#      in tf32 and with deterministic kernels (the cost of train.deterministic);
#   2. a short real sweep through `resbench run` (benchmarks/gpu-sweep.yaml, synthetic data);
#   3. packing: eight ResNet-20 runs at --runs-per-gpu 1, 2, 4 and 8 (benchmarks/packing.py on
#      benchmarks/gpu-packing.yaml): summed samples/s and wall time at each.
#
# Meant for a GPU machine that has torch, typer, rich, pandas, pyyaml, filelock, numpy, scipy
# and matplotlib, and may lack pydantic and mnist1d. Part 1 needs torch only; parts 2 and 3 need
# pydantic (resbench's sweep schema). Where pydantic is missing and $WHEELS names a folder of
# wheels, they are installed from it, offline, into a temporary folder put first on PYTHONPATH:
# make that folder beforehand on a machine that reaches PyPI, in resbench's environment, with
#   bash benchmarks/wheels.sh download .whl       # pydantic & co. and mnist1d, for Python 3.12
# and copy it beside this checkout. Without it, parts 2 and 3 are skipped with a note. No dataset
# is downloaded: every part uses random data.
#
#   WHEELS=.whl bash benchmarks/gpu.sh       # about 8 minutes on one recent GPU (an estimate)
#   STEPS=30 bash benchmarks/gpu.sh          # fewer timed steps per throughput measurement
#   PACK_STEPS=300 bash benchmarks/gpu.sh    # shorter packing runs (default 1000 steps)
#   PYTHON=/path/to/python bash benchmarks/gpu.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
STEPS=${STEPS:-100}
PACK_STEPS=${PACK_STEPS:-1000}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"  # this checkout, installed or not

if ! "$PY" -c "import pydantic" 2>/dev/null && [ -n "${WHEELS:-}" ]; then
  site=$(mktemp -d)
  PYTHON="$PY" bash benchmarks/wheels.sh install "$WHEELS" "$site"
  export PYTHONPATH="$site:$PYTHONPATH"
  echo "installed from $WHEELS into $site: $(ls "$WHEELS" | tr '\n' ' ')"
fi

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

if ! "$PY" -c "import pydantic" 2>/dev/null; then
  echo "== 2, 3: skipped: pydantic is not installed here (resbench's sweep schema needs it);"
  echo "   bring its wheels: bash benchmarks/wheels.sh download .whl, then WHEELS=.whl"
  exit 0
fi

echo "== 2. a short real sweep: resbench run benchmarks/gpu-sweep.yaml"
out=$(mktemp -d)
"$PY" -m resbench run benchmarks/gpu-sweep.yaml --out "$out"
echo "records and CSVs: $out/gpu-smoke"

echo "== 3. packing: 8 ResNet-20 runs (bf16, $PACK_STEPS steps) at 1, 2, 4 and 8 runs per GPU"
"$PY" benchmarks/packing.py --packings 1,2,4,8 -s "train.steps=$PACK_STEPS" \
  -s "train.eval_every=$((PACK_STEPS / 5))"
