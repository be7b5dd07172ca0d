#!/usr/bin/env bash
# Decision 14 (docs/results/ft10/decision.txt): the shipped MA model's command (its model card: 44 epochs, five
# versions, lesion-centred crops) on the workspace at working scale 0.625. One thread, beside another run.
# Resumes when run again.
set -euo pipefail
exec "$(dirname "$0")/../ft7/zoo-train.sh" ma625 runs/ft10/ma625 --epochs 44 --lesion-crop-centre lesion --photometric 5
