#!/usr/bin/env bash
# The zoo workspaces the decisions of docs/results/ft7 need, built from the raw download (the run folders are not
# kept in the repository). Deterministic: the same split and patches as before. A workspace that is already
# there is left alone, so a run reading it is never pulled from under. Usage: workspaces.sh [od] [he] [he375] [ex] [ma] [se] [od25] [ma625] [se375]
# (none: all nine).
set -euo pipefail
cd "$(dirname "$0")/../../.."
RAW=${RAW:-../shared/data/IDRiD}
PY=.venv/bin/python
# --fov-diameter is the field of view's width AT the working scale (--scale is then only the fallback for a
# photograph without a field of view found): 1706 px is the zoo's half scale, 1279.5 px (1706 x 0.75) scale 0.375,
# 853 px (1706 x 0.5) scale 0.25, 2132.5 px (1706 x 1.25) scale 0.625.
COMMON="--scale-by fov --preprocess clahe --patch-size 256 --stride 128 --colour 161.5,80.5,14.5"
build() {  # lesion, folder, scale, field-of-view width, extra traintest_split.py flags
  [ -f "$2/val_images.csv" ] && return 0
  $PY gt_binary.py --raw "$RAW" --lesion "$1" --data "$2"
  $PY extract_patches.py --data "$2" --scale "$3" --fov-diameter "$4" $COMMON --test-fraction 0.2 --split-seed 42
  $PY traintest_split.py --data "$2" --val-fraction 0.1667 --seed 42 ${5:-}
}
for name in ${@:-od he he375 ex ma se od25 ma625 se375}; do
  case "$name" in
    od) build OD runs/zoo/od/data 0.5 1706 ;;
    he) build HE runs/zoo/he/data 0.5 1706 ;;
    he375) build HE runs/zoo/he375/data 0.375 1279.5 ;;
    ex) build EX runs/zoo/ex/data 0.5 1706 ;;
    ma) build MA runs/zoo/ma/data 0.5 1706 ;;
    od25) build OD runs/zoo/od25/data 0.25 853 ;;  # the disc (450 to 640 px across at full size) whole in a 256 px crop
    ma625) build MA runs/zoo/ma625/data 0.625 2132.5 ;;  # the view the half-scale MA model gains from
    se375) build SE runs/zoo/se375/data 0.375 1279.5 --stratify ;;  # the view the half-scale SE model gains from
    se) build SE runs/zoo/se/data 0.5 1706 --stratify ;;  # 26 of the 54 have SE: drawn apart, as make zoo-model does
    *) echo "usage: $0 [od] [he] [he375] [ex] [ma] [se] [od25] [ma625] [se375]" >&2; exit 2 ;;
  esac
done
