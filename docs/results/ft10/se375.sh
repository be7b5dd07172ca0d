#!/usr/bin/env bash
# Decision 16 (docs/results/ft10/decision.txt): the shipped SE model's command (its model card: 48 epochs, one
# version, lesion-centred crops, the soft-Dice term from the first step) on the workspace at working scale 0.375.
# One thread, beside another run. Resumes when run again.
set -euo pipefail
exec "$(dirname "$0")/../ft7/zoo-train.sh" se375 runs/ft10/se375 --epochs 48 --lesion-crop-centre lesion --photometric 1 \
  --loss wbce_dice
