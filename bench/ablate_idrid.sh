#!/usr/bin/env bash
# One row of the IDRiD ablation table in RESULTS.md: train with the shared short budget plus the
# row's own flags, then evaluate on the held-out images; wall times go to runs/abl/NAME/times.txt.
#
#   bench/ablate_idrid.sh NAME WORKSPACE [train.py flags ...]
#   EVAL_FLAGS="--tta" bench/ablate_idrid.sh ...      # flags for evaluate.py
#
# WORKSPACE is a data folder made by gt_binary.py, extract_patches.py (with the row's --scale and
# --preprocess) and traintest_split.py --test-fraction 0.2 --val-fraction 0.2 --seed 42.
# The shared budget: 8 x 6 U-Net, 6 epochs of 100 steps of 8 (600 steps), lr 1e-3, mild
# augmentation, 200 validation patches, one CPU thread (two rows share the two cores).
set -euo pipefail
name=$1; data=$2; shift 2
export TF_CPP_MIN_LOG_LEVEL=3
out=runs/abl/$name
mkdir -p "$out"
base=(--base-filters 8 --depth 6 --epochs 6 --steps-per-epoch 100 --learning-rate 1e-3
      --brightness-delta 0.1 --hue-delta 0.02 --val-patches 200 --threads 1 --no-tensorboard)
echo "train.py --data $data --checkpoints $out/ck ${base[*]} $*; evaluate.py ${EVAL_FLAGS:-}" > "$out/command.txt"
start=$(date +%s)
.venv/bin/python train.py --data "$data" --checkpoints "$out/ck" "${base[@]}" "$@" > "$out/train.log" 2>&1
mid=$(date +%s)
# shellcheck disable=SC2086
.venv/bin/python evaluate.py --data "$data" --checkpoints "$out/ck" --results "$out/results" ${EVAL_FLAGS:-} \
    > "$out/eval.log" 2>&1
echo "train_s $((mid - start)) eval_s $(($(date +%s) - mid))" > "$out/times.txt"
