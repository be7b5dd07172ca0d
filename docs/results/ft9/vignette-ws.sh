#!/usr/bin/env bash
# Decision 12 (docs/results/ft9/decision.txt): decision 6's development workspace of the recipe
# (docs/results/ft7/next/dev-ws.sh p1: the training set only, 34 / 9 / 11, seed 42) built again with one change,
# --vignette auto. Then: docs/results/ft7/next/train.sh vignette and score.sh vignette.
set -euo pipefail
cd "$(dirname "$0")/../../.."
VIEW=runs/idrid-training-only  # made by dev-ws.sh: the download without its testing set
[ -d "$VIEW" ] || { echo "error: $VIEW: missing; run docs/results/ft7/next/dev-ws.sh first" >&2; exit 1; }
D=runs/robust2/vignette/data
.venv/bin/python gt_binary.py --raw "$VIEW" --lesion EX --data "$D"
.venv/bin/python extract_patches.py --data "$D" --scale 0.5 --scale-by fov --preprocess clahe --patch-size 256 \
  --stride 128 --colour auto --vignette auto
.venv/bin/python traintest_split.py --data "$D" --test-fraction 0.2 --val-fraction 0.2 --seed 42
