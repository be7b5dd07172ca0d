#!/usr/bin/env bash
# Decision 11 (docs/results/ft9/decision.txt): the shipped HE model's command (its model card: 44 epochs, five
# versions, lesion-centred crops, the soft-Dice term) on the workspace at working scale 0.375. One thread, beside
# decision 10's run. Resumes when run again.
set -euo pipefail
exec "$(dirname "$0")/../ft7/zoo-train.sh" he375 runs/ft9/he375-44 --epochs 44 --lesion-crop-centre lesion \
  --photometric 5 --loss wbce_dice
