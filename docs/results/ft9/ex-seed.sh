#!/usr/bin/env bash
# Decision 10 (docs/results/ft9/decision.txt): the shipped EX model's command (its model card) with one change,
# --seed 7, as the second member of a pair. One thread, beside decision 11's run. Resumes when run again.
set -euo pipefail
exec "$(dirname "$0")/../ft7/zoo-train.sh" ex runs/ft9/ex-seed7 --epochs 28 --lesion-crop-centre pixel \
  --photometric 5 --seed 7
