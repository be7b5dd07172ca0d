#!/usr/bin/env bash
# Decision 5 (docs/results/ft7/decision.txt): the shipped HE command (candidate B of ft5) with one change,
# 44 epochs instead of 26 (the budget lever on a faster machine). Resumes where it stopped when run again.
set -euo pipefail
cd "$(dirname "$0")/../../.."
docs/results/ft7/workspaces.sh he
exec .venv/bin/python train.py --data runs/zoo/he/data --checkpoints runs/ft7/he-e --base-filters 8 --depth 6 \
  --epochs 44 --steps-per-epoch 100 --learning-rate 1e-3 --brightness-delta 0.1 --hue-delta 0.02 --sampling crops \
  --lesion-crop-centre lesion --lr-schedule cosine --val-patches 200 --val-aupr-every 2 --photometric 5 \
  --loss wbce_dice --threads 1 --max-minutes 118
