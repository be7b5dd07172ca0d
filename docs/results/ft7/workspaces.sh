#!/usr/bin/env bash
# The two zoo workspaces decisions 3 and 4 of docs/results/ft6 need, rebuilt from the raw download
# (the run folders are not kept in the repository). Deterministic: the same split and patches as before.
set -euo pipefail
cd "$(dirname "$0")/../../.."
RAW=${RAW:-../shared/data/IDRiD}
PY=.venv/bin/python
COMMON="--scale-by fov --fov-diameter 1706 --preprocess clahe --patch-size 256 --stride 128 --colour 161.5,80.5,14.5"
build() {  # lesion, folder, scale
  $PY gt_binary.py --raw "$RAW" --lesion "$1" --data "$2"
  $PY extract_patches.py --data "$2" --scale "$3" $COMMON --test-fraction 0.2 --split-seed 42
  $PY traintest_split.py --data "$2" --val-fraction 0.1667 --seed 42
}
build OD runs/zoo/od/data 0.5 &
build HE runs/zoo/he375/data 0.375
wait
