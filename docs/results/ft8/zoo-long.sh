#!/usr/bin/env bash
# Decision 7 (docs/results/ft8/decision.txt): the shipped EX or MA command (the first, from-scratch one of its
# model card) with one change, 44 epochs instead of 28: the budget lever that moved HE (ft7 decision 5) on this
# faster machine. One thread, so that two run side by side. Resumes where it stopped when run again. Only MA's
# half ran: EX's repeated a lever already measured (the decision's amendment).
# Usage: zoo-long.sh ex|ma
set -euo pipefail
cd "$(dirname "$0")/../../.."
case "$1" in
  ex) CENTRE=pixel ;;   # as the shipped EX model (models/idrid-ex-unet8-half/MODEL_CARD.md)
  ma) CENTRE=lesion ;;  # as the shipped MA model's first command
  *) echo "usage: $0 ex|ma" >&2; exit 2 ;;
esac
docs/results/ft7/workspaces.sh "$1"
exec .venv/bin/python train.py --data "runs/zoo/$1/data" --checkpoints "runs/ft8/$1-long" --base-filters 8 --depth 6 \
  --epochs 44 --steps-per-epoch 100 --learning-rate 1e-3 --brightness-delta 0.1 --hue-delta 0.02 --sampling crops \
  --lesion-crop-centre "$CENTRE" --lr-schedule cosine --val-patches 200 --val-aupr-every 2 --photometric 5 \
  --threads 1 --max-minutes "${MAX_MINUTES:-118}"
