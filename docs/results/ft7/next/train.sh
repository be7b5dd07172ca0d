#!/usr/bin/env bash
# The recipe now (one photometric version, 48 epochs, from scratch) on one of dev-ws.sh's workspaces, one
# thread, so that the two runs share a 2-core machine and compare at equal steps. Usage: train.sh p1|local
set -euo pipefail
cd "$(dirname "$0")/../../../.."
exec .venv/bin/python train.py --data "runs/robust2/$1/data" --checkpoints "runs/robust2/$1/checkpoints" \
  --base-filters 8 --depth 6 --epochs 48 --steps-per-epoch 100 --learning-rate 1e-3 --brightness-delta 0.1 \
  --hue-delta 0.02 --sampling crops --lesion-crop-centre pixel --lr-schedule cosine --val-patches 200 \
  --val-aupr-every 2 --photometric 1 --threads 1 --max-minutes "${MAX_MINUTES:-118}"
