#!/usr/bin/env bash
# Decision 7's or 8's winner (docs/results/ft8/decision.txt) scored once on the 27 official testing photographs at the
# test-time scales chosen on its validation photographs, then shipped in place of the zoo model. Run only for a
# candidate that passed its rule. Usage: ship.sh ex|ma|se RUN_FOLDER SCALES (e.g. 1,1.25)
set -euo pipefail
cd "$(dirname "$0")/../../.."
[ $# -eq 3 ] || { echo "usage: $0 ex|ma|se RUN_FOLDER SCALES" >&2; exit 2; }
S=runs/ft8/$1-ship
mkdir -p "$S/checkpoints" && cp "$2"/{model.keras,bundle.json} "$S/checkpoints/"
.venv/bin/python evaluate.py --data "runs/zoo/$1/data" --checkpoints "$S/checkpoints" --results "$S/results" --tta \
  --tta-scales "$3" --overlays 4
.venv/bin/python -m lesionseg.ship --run "$S" --name "idrid-$1-unet8-half" --structure "$(echo "$1" | tr a-z A-Z)"
