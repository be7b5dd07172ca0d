#!/usr/bin/env bash
# Decision 3 of docs/results/ft6: the shipped OD command from scratch, the epoch kept by the validation
# mean Jaccard (one region kept). Resumes where it stopped when run again.
set -euo pipefail
cd "$(dirname "$0")/../../.."
exec .venv/bin/python train.py --data runs/zoo/od/data --checkpoints runs/ft7/od-jaccard --base-filters 8 --depth 6 \
  --epochs 28 --steps-per-epoch 100 --learning-rate 1e-3 --brightness-delta 0.1 --hue-delta 0.02 --sampling crops \
  --lr-schedule cosine --val-patches 200 --val-aupr-every 2 --photometric 5 --lesion-crop-centre lesion --threads 1 \
  --select-by val_jaccard --max-minutes 118
