#!/usr/bin/env bash
# The zoo's training command on one of workspaces.sh's workspaces (built first if missing), one thread so that two
# runs share a 2-core machine, resumable: the flags every zoo decision of ft7 and ft8 shares. Each decision's own
# (epochs, crop centre, versions, loss, selection) follow. Usage: zoo-train.sh WORKSPACE CHECKPOINTS FLAGS...
set -euo pipefail
cd "$(dirname "$0")/../../.."
[ $# -ge 2 ] || { echo "usage: $0 WORKSPACE CHECKPOINTS FLAGS..." >&2; exit 2; }
workspace=$1 checkpoints=$2
shift 2
docs/results/ft7/workspaces.sh "$workspace"
exec .venv/bin/python train.py --data "runs/zoo/$workspace/data" --checkpoints "$checkpoints" --base-filters 8 \
  --depth 6 --steps-per-epoch 100 --learning-rate 1e-3 --brightness-delta 0.1 --hue-delta 0.02 --sampling crops \
  --lr-schedule cosine --val-patches 200 --val-aupr-every 2 --threads 1 --max-minutes "${MAX_MINUTES:-118}" "$@"
