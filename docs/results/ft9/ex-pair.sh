#!/usr/bin/env bash
# Decision 10 (docs/results/ft9/decision.txt): the shipped EX model and its seed-7 twin averaged
# (lesionseg.ensemble), then the validation benchmark of the pair and of the shipped model, same session.
set -euo pipefail
cd "$(dirname "$0")/../../.."
[ -d runs/ft9/ex-pair ] || .venv/bin/python -m lesionseg.ensemble --out runs/ft9/ex-pair models/idrid-ex-unet8-half \
  runs/ft9/ex-seed7
docs/results/ft7/bench.sh ex pair runs/ft9/ex-pair
docs/results/ft7/bench.sh ex shipped models/idrid-ex-unet8-half
