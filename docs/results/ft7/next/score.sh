#!/usr/bin/env bash
# Held-out figures and the corruption benchmark of one run of train.sh. Usage: score.sh p1|local
set -euo pipefail
cd "$(dirname "$0")/../../../.."
R=runs/robust2/$1
.venv/bin/python -m lesionseg.export "$R/checkpoints"
.venv/bin/python evaluate.py --data "$R/data" --checkpoints "$R/checkpoints" --results "$R/results" --tta --overlays 0
.venv/bin/python bench/corruptions.py --data "$R/data" --checkpoints "$R/checkpoints" --out "$R/corruptions"
