#!/usr/bin/env bash
# Issue #16 on one GPU machine (an H200, ~9 device minutes): the real-shape benchmarks, one run, JSON under $OUT.
#
#   bash bench/gpu_issue16.sh                 # on the GPU machine, from the repository root
#   GPU16_DRY=1 bash bench/gpu_issue16.sh     # CPU dry run of the same steps (tiny shape, small sizes)
#
# Steps, in priority order, each under its own `timeout` so the whole script stops within GPU16_BUDGET_S
# (default 470 s, ~8 min); every embed step writes its JSON after each batch size, so a step cut short keeps
# what it measured:
#   1. bench/embed.py --shape 3b, cuda bf16, 10 s clips, batch 1..64: ours vs the official path (HF processor
#      padding to 300 s + full forward + LM head): clips/s, texts/s, MFU, peak GPU memory, GPU utilisation;
#   2. the same at --shape 7b;
#   3. bench/ingest.py --shape 3b: ingest end to end vs embedding only on the same files, 8 decode workers;
#   4./5. embed.py 3b / 7b with 30 s clips;
#   6./7. bench/search.py --shape 3b: query latency and re-rank throughput at K = 10, then K = 50, shared
#      prefix vs plain (if time is left).
# nvidia-smi logs utilisation and memory every 500 ms beside them ($OUT/nvidia_smi.csv).
# Needs: the project installed with a CUDA torch (python on PATH, or PYTHON=...); nothing is downloaded.
set -u
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
OUT=${OUT:-/tmp/gpu_issue16}
mkdir -p "$OUT"
BUDGET=${GPU16_BUDGET_S:-470}
START=$(date +%s)
THREADS=${GPU16_THREADS:-$(nproc)}
if [ "${GPU16_DRY:-0}" = "1" ]; then
  # both "shapes" are tiny here, so the 3b/7b step names repeat and the second overwrites the first's files
  MODEL=(--device cpu) SHAPE_A=tiny SHAPE_B=tiny BATCHES=1,2 ROUNDS=1 THREADS=${GPU16_THREADS:-2}
  CLIP_A=4 CLIP_B=6 FILES=4 POINTS=200 SEARCH=(--clips 8 --seconds 2) K_SMALL=2 K_LARGE=4
  LIMITS=(60 60 120 60 60 60 60)
else
  MODEL=(--device cuda --dtype bf16) SHAPE_A=3b SHAPE_B=7b BATCHES=1,2,4,8,16,32,64 ROUNDS=1
  CLIP_A=10 CLIP_B=30 FILES=48 POINTS=1000 SEARCH=(--clips 64 --seconds 10) K_SMALL=10 K_LARGE=50
  LIMITS=(100 100 80 75 75 45 45)
fi

step() {  # step NAME LIMIT_S CMD...: run CMD under timeout (never past the budget), log to $OUT/NAME.log
  local name=$1 limit=$2 left
  shift 2
  left=$((BUDGET - ($(date +%s) - START)))
  if [ "$left" -lt 25 ]; then
    echo "$name skipped: ${left}s of the budget left" | tee -a "$OUT/steps.txt"
    return
  fi
  [ "$limit" -gt "$left" ] && limit=$left
  local t0=$(date +%s)
  timeout -k 5 "$limit" "$@" >"$OUT/$name.log" 2>&1
  local rc=$?
  echo "$name rc=$rc (124 = timed out) $(($(date +%s) - t0))s of ${limit}s" | tee -a "$OUT/steps.txt"
}

SMI_PID=
if command -v nvidia-smi >/dev/null; then
  nvidia-smi -L >"$OUT/gpu.txt" 2>&1
  nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used,power.draw --format=csv -lms 500 \
    >"$OUT/nvidia_smi.csv" 2>&1 &
  SMI_PID=$!
fi
"$PY" -c "import torch, transformers; print(torch.__version__, transformers.__version__, torch.cuda.is_available())" \
  >"$OUT/env.txt" 2>&1
nproc >>"$OUT/env.txt"

E=(bench/embed.py --threads "$THREADS" --rounds "$ROUNDS" --batch-sizes "$BATCHES" "${MODEL[@]}" --no-rss)
step embed_${SHAPE_A}_${CLIP_A}s "${LIMITS[0]}" "$PY" "${E[@]}" --shape $SHAPE_A --seconds $CLIP_A \
  --json "$OUT/embed_${SHAPE_A}_${CLIP_A}s.json"
step embed_${SHAPE_B}_${CLIP_A}s "${LIMITS[1]}" "$PY" "${E[@]}" --shape $SHAPE_B --seconds $CLIP_A \
  --json "$OUT/embed_${SHAPE_B}_${CLIP_A}s.json"
step ingest_${SHAPE_A} "${LIMITS[2]}" "$PY" bench/ingest.py --threads "$THREADS" --rounds 2 --files $FILES \
  --workers 8 --batch 16 --points $POINTS "${MODEL[@]}" --shape $SHAPE_A --no-rss --json "$OUT/ingest_${SHAPE_A}.json"
step embed_${SHAPE_A}_${CLIP_B}s "${LIMITS[3]}" "$PY" "${E[@]}" --shape $SHAPE_A --seconds $CLIP_B \
  --json "$OUT/embed_${SHAPE_A}_${CLIP_B}s.json"
step embed_${SHAPE_B}_${CLIP_B}s "${LIMITS[4]}" "$PY" "${E[@]}" --shape $SHAPE_B --seconds $CLIP_B \
  --json "$OUT/embed_${SHAPE_B}_${CLIP_B}s.json"
for i in 5 6; do
  K=$([ $i = 5 ] && echo $K_SMALL || echo $K_LARGE)
  step search_${SHAPE_A}_k$K "${LIMITS[$i]}" "$PY" bench/search.py --threads "$THREADS" --rounds 2 \
    "${SEARCH[@]}" --k $K "${MODEL[@]}" --shape $SHAPE_A --json "$OUT/search_${SHAPE_A}_k$K.json"
done

[ -n "$SMI_PID" ] && kill "$SMI_PID" 2>/dev/null
echo "total $(($(date +%s) - START))s of ${BUDGET}s" | tee -a "$OUT/steps.txt"
