#!/usr/bin/env bash
# Decision 4 of docs/results/ft6: the shipped HE command (candidate B of ft5) on the workspace at scale 0.375.
# Resumes where it stopped when run again.
set -euo pipefail
cd "$(dirname "$0")/../../.."
exec .venv/bin/python train.py --data runs/zoo/he375/data --checkpoints runs/ft7/he375 --base-filters 8 --depth 6 \
  --epochs 26 --steps-per-epoch 100 --learning-rate 1e-3 --brightness-delta 0.1 --hue-delta 0.02 --sampling crops \
  --lesion-crop-centre lesion --lr-schedule cosine --val-patches 200 --val-aupr-every 2 --photometric 5 \
  --loss wbce_dice --threads 1 --max-minutes 118
