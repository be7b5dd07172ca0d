#!/usr/bin/env bash
# Decision 13's benchmark (docs/results/ft10/decision.txt): the 9 validation photographs, one region kept, threshold by
# max_dice, TensorFlow engine; the candidate at view 1, the shipped model at its shipped view 0.75,0.5. As run then,
# the candidate was predicted without the flips (its run's bundle had them off; the bench now applies them: 0.9192
# instead of 0.9156) and the shipped model with them. models/idrid-od-unet8-half was replaced by the winner; it is
# in the history before commit 0c5500a: git checkout 0c5500a~1 -- models/idrid-od-unet8-half.
set -euo pipefail
cd "$(dirname "$0")/../../.."
.venv/bin/python bench/largest_component.py --data runs/zoo/od25/data --checkpoints runs/ft10/od25 --tta-scales 1 \
  --settings largest --engine tensorflow --out runs/ft10/b-od25
exec docs/results/ft7/bench.sh od shipped-ft10 models/idrid-od-unet8-half
