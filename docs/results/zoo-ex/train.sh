#!/usr/bin/env bash
# The EX zoo model: make reproduce-idrid's CPU recipe (colour normalisation and photometric versions included) on all 54 official
# training photographs (45 / 9), then the one scoring on the 27 official testing photographs.
# 28 epochs: this machine takes about 4 min an epoch (the recipe's 48 took 100 min on a faster one), so 28 fit the 2 hours.
# Resumes where it stopped when run again.
set -euo pipefail
cd /work/main
PY=.venv/bin/python
R=runs/zoo/ex
EXTRA=${EXTRA:-}
$PY train.py --data $R/data --checkpoints $R/checkpoints --base-filters 8 --depth 6 --epochs 28 --steps-per-epoch 100 \
  --learning-rate 1e-3 --brightness-delta 0.1 --hue-delta 0.02 --sampling crops --lesion-crop-centre pixel \
  --lr-schedule cosine --val-patches 200 --val-aupr-every 2 --photometric 5 $EXTRA
$PY -m lesionseg.export $R/checkpoints
[ -f $R/results/metrics.json ] || $PY evaluate.py --data $R/data --checkpoints $R/checkpoints --results $R/results --tta --overlays 4
