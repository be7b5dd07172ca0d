#!/usr/bin/env bash
# Decision 5 (docs/results/ft7/decision.txt): the shipped HE command (candidate B of ft5) with one change,
# 44 epochs instead of 26 (the budget lever on a faster machine). Resumes where it stopped when run again.
set -euo pipefail
exec "$(dirname "$0")/zoo-train.sh" he runs/ft7/he-e --epochs 44 --lesion-crop-centre lesion --photometric 5 \
  --loss wbce_dice
