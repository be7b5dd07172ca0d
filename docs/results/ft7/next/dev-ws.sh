#!/usr/bin/env bash
# Issue "other cameras' light and colour", next comparison: the development split (34 / 9 / 11, seed 42) of the
# EX recipe, built twice from the raw download: as the recipe has it (--colour auto, one gain per channel) and
# with the local gains (--colour-local 0.25). A view of the download without its testing set makes
# traintest_split.py draw the 11 held-out photographs from the 54 training ones, as every development run did.
set -euo pipefail
cd "$(dirname "$0")/../../../.."
RAW=${RAW:-../shared/data/IDRiD}
VIEW=runs/idrid-training-only
PY=.venv/bin/python
if [ ! -d "$VIEW" ]; then
  for part in "1. Original Images" "2. All Segmentation Groundtruths"; do
    mkdir -p "$VIEW/A. Segmentation/$part"
    ln -s "$(realpath "$RAW/A. Segmentation/$part/a. Training Set")" "$VIEW/A. Segmentation/$part/a. Training Set"
  done
fi
build() {  # folder, extra extract_patches flags
  $PY gt_binary.py --raw "$VIEW" --lesion EX --data "$1/data"
  $PY extract_patches.py --data "$1/data" --scale 0.5 --scale-by fov --preprocess clahe --patch-size 256 \
    --stride 128 --colour auto $2
  $PY traintest_split.py --data "$1/data" --test-fraction 0.2 --val-fraction 0.2 --seed 42
}
build runs/robust2/p1 "" &
build runs/robust2/local "--colour-local 0.25"
wait
