#!/usr/bin/env bash
# The EX zoo model's workspace: all 54 official training photographs (45 train / 9 validation), the 27 official testing ones as the test set.
set -euo pipefail
cd /work/main
PY=.venv/bin/python
$PY gt_binary.py --raw ../shared/data/IDRiD --lesion EX --data runs/zoo/ex/data
$PY extract_patches.py --data runs/zoo/ex/data --scale 0.5 --scale-by fov --preprocess clahe --patch-size 256 --stride 128 --colour auto
$PY traintest_split.py --data runs/zoo/ex/data --test-fraction 0.2 --val-fraction 0.1667 --seed 42
