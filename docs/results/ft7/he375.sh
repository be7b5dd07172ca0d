#!/usr/bin/env bash
# Decision 4 of docs/results/ft6: the shipped HE command (candidate B of ft5) on the workspace at scale 0.375.
# Resumes where it stopped when run again.
set -euo pipefail
exec "$(dirname "$0")/zoo-train.sh" he375 runs/ft7/he375 --epochs 26 --lesion-crop-centre lesion --photometric 5 \
  --loss wbce_dice
