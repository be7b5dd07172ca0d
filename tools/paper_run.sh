#!/usr/bin/env bash
# The paper's own run in one call, for a GPU machine with JAX but without TensorFlow or the dataset:
# the 16 x 7 U-Net on the fixed 512 / 256 grid with balanced negatives, weighted BCE 3:1, Adam 1e-4,
# batch 8, under KERAS_BACKEND=jax with bfloat16 mixed precision (logits and loss in float32), on the
# 54 official IDRiD training photographs (45 to train, 9 to choose the epoch and the threshold), then
# scored once on the 27 official testing photographs. What comes back is small: metrics.json,
# history.csv, loss.png, froc.png, pr.png, preflight.txt and the log; the checkpoints stay in WORK.
#
#   .venv/bin/python tools/pack_paper_data.py --raw ../shared/data/IDRiD --wheels    # here, once
#   OUT=/somewhere bash tools/paper_run.sh                                        # there (carry: carry)
#
# Settings (environment): EPOCHS (100, the paper), MAX_MINUTES (training time after which it stops at
# the end of an epoch; the same command resumes from WORK), DATA, WORK, OUT, PY, and TRAIN_EXTRA /
# PREP_EXTRA for a toy run on a CPU (README: "The paper's run on a GPU").
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python3}
DATA=${DATA:-carry/IDRiD}
WORK=${WORK:-/tmp/paper-run}
OUT=${OUT:-runs/paper-gpu}
EPOCHS=${EPOCHS:-100}
MAX_MINUTES=${MAX_MINUTES:-0}
PRECISION=${PRECISION:-mixed_bfloat16}
THREADS=${THREADS:-$(nproc)}
export KERAS_BACKEND=${KERAS_BACKEND:-jax}
mkdir -p "$OUT" "$WORK"
exec > >(tee -a "$OUT/paper_run.log") 2>&1

# 1. What this machine has; Keras from the carried wheels if it is missing.
if ! "$PY" -c "import keras" 2>/dev/null && [ -d carry/wheels ]; then
    "$PY" -m pip install -q --no-index --find-links carry/wheels keras || true
fi
"$PY" - <<'EOF' | tee "$OUT/preflight.txt"
import importlib, os, sys
need = ["keras", "numpy", "pandas", "PIL", "cv2", "scipy", "sklearn", "matplotlib", "tqdm"]
missing = []
for name in need + ["jax"]:
    try:
        module = importlib.import_module(name)
        print(f"{name} {getattr(module, '__version__', '?')}")
    except ImportError as exc:
        print(f"{name} MISSING ({exc})")
        missing.append(name)
if "jax" not in missing:
    import jax
    print("devices", jax.devices())
print("python", sys.version.split()[0], "backend", os.environ.get("KERAS_BACKEND"))
if set(missing) & set(need):
    sys.exit(f"error: missing {', '.join(m for m in missing if m in need)}: carry their wheels in carry/wheels")
EOF

# 2. Masks, the paper's patches (scale 1, 512 / 256, all lesion patches and as many negatives), the split.
if [ ! -f "$WORK/data/train.csv" ]; then
    "$PY" gt_binary.py --raw "$DATA" --lesion EX --data "$WORK/data"
    "$PY" extract_patches.py --data "$WORK/data" ${PREP_EXTRA:-}
    "$PY" traintest_split.py --data "$WORK/data" --val-fraction 0.1667 --seed 42
fi

# 3. Training: the paper's defaults of train.py, on the numpy input (no tf.data); resumes from WORK.
time "$PY" train.py --data "$WORK/data" --checkpoints "$WORK/checkpoints" --epochs "$EPOCHS" \
    --mixed-precision "$PRECISION" --input numpy --input-threads "$THREADS" --no-tensorboard \
    --max-minutes "$MAX_MINUTES" ${TRAIN_EXTRA:-}
cp "$WORK/checkpoints/history.csv" "$WORK/checkpoints/loss.png" "$WORK/checkpoints/bundle.json" "$OUT/"

# 4. The threshold from the 9 validation photographs, then the 27 official testing photographs, once.
time "$PY" evaluate.py --data "$WORK/data" --checkpoints "$WORK/checkpoints" --results "$WORK/results"
cp "$WORK/results/metrics.json" "$WORK/results/froc.png" "$WORK/results/pr.png" "$OUT/"
"$PY" -m lesionseg.summary --what "official IDRiD testing photographs" "$WORK/results/metrics.json"
