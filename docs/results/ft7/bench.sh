#!/usr/bin/env bash
# The validation benchmarks of decisions 3 to 5 (docs/results/ft7/decision.txt) and 7, 8 (docs/results/ft8): the 9 validation photographs at
# their original resolution, four flips, TensorFlow engine. Usage: bench.sh he|od|ex|ma|se NAME MODEL_FOLDER
# (ex and ma: scale 1, the decision's figure, then 1,1.25, the view the shipped EX and MA models predict with; se:
# 1 and 1,0.75, the shipped SE model's view)
set -euo pipefail
cd "$(dirname "$0")/../../.."
case "$1" in
  he) exec .venv/bin/python bench/tta_scales.py --data runs/zoo/he/data --checkpoints "$3" --scales 1 \
        --engine tensorflow --out "runs/ft7/b-he-$2" ;;
  ex|ma) exec .venv/bin/python bench/tta_scales.py --data "runs/zoo/$1/data" --checkpoints "$3" --scales 1 1,1.25 \
        --engine tensorflow --out "runs/ft7/b-$1-$2" ;;
  se) exec .venv/bin/python bench/tta_scales.py --data runs/zoo/se/data --checkpoints "$3" --scales 1 1,0.75 \
        --engine tensorflow --out "runs/ft7/b-se-$2" ;;
  od) exec .venv/bin/python bench/largest_component.py --data runs/zoo/od/data --checkpoints "$3" \
        --tta-scales 0.75,0.5 --settings largest --engine tensorflow --out "runs/ft7/b-od-$2" ;;
  *) echo "usage: $0 he|od|ex|ma|se NAME MODEL_FOLDER" >&2; exit 2 ;;
esac
