#!/usr/bin/env bash
# Decision 13's benchmark (docs/results/ft10/decision.txt): the 9 validation photographs, one region kept, four flips,
# threshold by max_dice, TensorFlow engine; the candidate at view 1, the shipped model at its shipped view 0.75,0.5.
set -euo pipefail
cd "$(dirname "$0")/../../.."
.venv/bin/python bench/largest_component.py --data runs/zoo/od25/data --checkpoints runs/ft10/od25 --tta-scales 1 \
  --settings largest --engine tensorflow --out runs/ft10/b-od25
exec docs/results/ft7/bench.sh od shipped-ft10 models/idrid-od-unet8-half
