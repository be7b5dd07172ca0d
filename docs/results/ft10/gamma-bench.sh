#!/usr/bin/env bash
# Decision 15 (docs/results/ft10/decision.txt): decision 6's recipe model with decision 9's vignette floor and the
# gated gamma correction added to its stored preparation, on the full corruption benchmark. No retraining: every
# training photograph is under both gates (vignette_floor.py and gamma_reference.py print it).
set -euo pipefail
cd "$(dirname "$0")/../../.."
R=runs/robust2/p1
FLOOR=$(.venv/bin/python docs/results/ft9/vignette_floor.py "$R/data" | tail -1)
REFERENCE=$(.venv/bin/python docs/results/ft10/gamma_reference.py "$R/data" | tail -1)
exec .venv/bin/python bench/corruptions.py --data "$R/data" --checkpoints "$R/checkpoints" \
  --out runs/ft10/gamma-p1 --prep "vignette=$FLOOR" "gamma_reference=$REFERENCE" "$@"
