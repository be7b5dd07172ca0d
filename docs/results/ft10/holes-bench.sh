#!/usr/bin/env bash
# Decision 17 (docs/results/ft10/decision.txt): the shipped quarter-scale OD model on its 9 validation photographs, one
# region kept, with and without its holes filled.
set -euo pipefail
cd "$(dirname "$0")/../../.."
exec .venv/bin/python bench/largest_component.py --data runs/zoo/od25/data --checkpoints models/idrid-od-unet8-quarter \
  --tta-scales 1 --settings largest holes --engine tensorflow --out runs/ft10/b-od25-holes
