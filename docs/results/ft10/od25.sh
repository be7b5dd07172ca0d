#!/usr/bin/env bash
# Decision 13 (docs/results/ft10/decision.txt): the shipped OD model's command (its model card: 28 epochs, five
# versions, lesion-centred crops) on the workspace at working scale 0.25. One thread, beside another run. Resumes
# when run again.
set -euo pipefail
exec "$(dirname "$0")/../ft7/zoo-train.sh" od25 runs/ft10/od25 --epochs 28 --photometric 5 --lesion-crop-centre lesion
