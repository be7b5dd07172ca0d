#!/usr/bin/env bash
# Decision 3 of docs/results/ft6: the shipped OD command from scratch, the epoch kept by the validation
# mean Jaccard (one region kept). Resumes where it stopped when run again.
set -euo pipefail
exec "$(dirname "$0")/zoo-train.sh" od runs/ft7/od-jaccard --epochs 28 --photometric 5 --lesion-crop-centre lesion \
  --select-by val_jaccard
