#!/usr/bin/env bash
# Decision 13's winner (docs/results/ft10/decision.txt) scored once on the 27 official testing photographs at view 1
# (four flips, one region kept, the threshold from its 9 validation photographs), then shipped in place of the
# half-scale OD model.
set -euo pipefail
cd "$(dirname "$0")/../../.."
S=runs/ft10/od25-ship
mkdir -p "$S/checkpoints" && cp runs/ft10/od25/{model.keras,bundle.json} "$S/checkpoints/"
.venv/bin/python evaluate.py --data runs/zoo/od25/data --checkpoints "$S/checkpoints" --results "$S/results" --tta \
  --overlays 4 --largest-component
.venv/bin/python -m lesionseg.ship --run "$S" --name idrid-od-unet8-quarter --structure OD
