#!/usr/bin/env bash
# Decision 8 (docs/results/ft8/decision.txt): the shipped SE model's first command (its model card) with one change,
# the soft-Dice term from the first step (--loss wbce_dice). One thread, beside MA's run. Resumes when run again.
set -euo pipefail
cd "$(dirname "$0")/../../.."
docs/results/ft7/workspaces.sh se
exec .venv/bin/python train.py --data runs/zoo/se/data --checkpoints runs/ft8/se-dice --base-filters 8 --depth 6 \
  --epochs 48 --steps-per-epoch 100 --learning-rate 1e-3 --brightness-delta 0.1 --hue-delta 0.02 --sampling crops \
  --lesion-crop-centre lesion --lr-schedule cosine --val-patches 200 --val-aupr-every 2 --photometric 1 \
  --loss wbce_dice --threads 1 --max-minutes "${MAX_MINUTES:-118}"
