#!/usr/bin/env bash
# Decision 5's winner scored once on the 27 official testing photographs, then shipped (run only if it passed its
# rule on validation; docs/results/ft7/decision.txt). Usage: he-ship.sh RUN_FOLDER
set -euo pipefail
cd "$(dirname "$0")/../../.."
S=runs/ft7/he-ship
mkdir -p "$S/checkpoints" && cp "$1"/{model.keras,bundle.json} "$S/checkpoints/"
# A run started while train.py briefly took two lists of choices for constants (INPUTS, PRECISIONS) stores them in
# its config; they were never settings of the run, so the shipped bundle leaves them out.
.venv/bin/python - "$S/checkpoints/bundle.json" <<'PY'
import json, sys
path = sys.argv[1]
bundle = json.load(open(path))
for key in ("inputs", "precisions"):
    bundle["provenance"]["config"].pop(key, None)
json.dump(bundle, open(path, "w"), indent=2)
PY
.venv/bin/python evaluate.py --data runs/zoo/he/data --checkpoints "$S/checkpoints" --results "$S/results" --tta \
  --overlays 4
.venv/bin/python -m lesionseg.ship --run "$S" --name idrid-he-unet8-half --structure HE
