#!/usr/bin/env bash
# Decision 8 (docs/results/ft8/decision.txt): the shipped SE model's first command (its model card) with one change,
# the soft-Dice term from the first step (--loss wbce_dice). One thread, beside MA's run. Resumes when run again.
set -euo pipefail
exec "$(dirname "$0")/../ft7/zoo-train.sh" se runs/ft8/se-dice --epochs 48 --lesion-crop-centre lesion \
  --photometric 1 --loss wbce_dice
