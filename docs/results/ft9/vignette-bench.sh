#!/usr/bin/env bash
# Decision 9 (docs/results/ft9/decision.txt): the recipe's development model of decision 6 with the gated vignette
# correction added to its stored preparation, on the full corruption benchmark. No retraining: every training
# photograph is under the gate (vignette_floor.py prints it), so their own patches would not change; only the
# photometric versions that cross it would (the decision's amendment).
set -euo pipefail
cd "$(dirname "$0")/../../.."
R=runs/robust2/p1
MEASURED=$(.venv/bin/python docs/results/ft9/vignette_floor.py "$R/data")
echo "$MEASURED" >&2  # the training photographs' own shortfall, then the floor
FLOOR=$(echo "$MEASURED" | tail -1)
exec .venv/bin/python bench/corruptions.py --data "$R/data" --checkpoints "$R/checkpoints" \
  --out runs/ft9/vignette-p1 --prep "vignette=$FLOOR" "$@"
