#!/bin/bash
# EX zoo model, 48 epochs: resumed on both cores after a start with --threads 1 (two epochs)
set -e
cd "$(dirname "$0")/../../.."  # the project root
R=runs/zoo/ex48
time .venv/bin/python train.py --data $R/data --checkpoints $R/checkpoints --base-filters 8 --depth 6 --epochs 48 --steps-per-epoch 100 --learning-rate 1e-3 --brightness-delta 0.1 --hue-delta 0.02 --sampling crops --lesion-crop-centre pixel --lr-schedule cosine --val-patches 200 --val-aupr-every 2 --photometric 5
echo TRAIN DONE
