#!/usr/bin/env bash
# A decision's winner (docs/results/ft9/decision.txt) scored once on the 27 official testing photographs at the
# test-time scales chosen on its validation photographs, then shipped in place of the zoo model of its structure.
# Run only for a candidate that passed its rule. RUN_FOLDER: a training run's folder, or an ensemble's
# (lesionseg.ensemble). Usage: ship.sh ex|he|ma|se RUN_FOLDER SCALES (e.g. 1,1.25)
set -euo pipefail
cd "$(dirname "$0")/../../.."
[ $# -eq 3 ] || { echo "usage: $0 ex|he|ma|se RUN_FOLDER SCALES" >&2; exit 2; }
S=runs/ft9/$1-ship
rm -rf "$S" && mkdir -p "$S/checkpoints"
cp "$2/bundle.json" "$S/checkpoints/"
if [ -d "$2/members" ]; then cp -r "$2/members" "$S/checkpoints/"; else cp "$2/model.keras" "$S/checkpoints/"; fi
.venv/bin/python evaluate.py --data "runs/zoo/$1/data" --checkpoints "$S/checkpoints" --results "$S/results" --tta \
  --tta-scales "$3" --overlays 4
.venv/bin/python -m lesionseg.ship --run "$S" --name "idrid-$1-unet8-half" --structure "$(echo "$1" | tr a-z A-Z)"
