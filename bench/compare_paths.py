"""Faithful (512/256 grid, averaged) against fast (tiles with margins) inference with a trained
model, on the validation images of a workspace (or another table of whole images, `--table
test.csv`): AUPR of each, their difference, and the mean
absolute difference of the probabilities. Decides which path may be the default (|dAUPR| <= 0.005).

    .venv/bin/python bench/compare_paths.py --data runs/idrid-ex/data --checkpoints runs/idrid-ex/checkpoints
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--checkpoints", type=Path, required=True)
    ap.add_argument("--table", default="val_images.csv")
    ap.add_argument("--patch-size", type=int, default=512)
    ap.add_argument("--stride", type=int, default=256)
    args = ap.parse_args()
    from lesionseg.quiet import quiet_tensorflow

    quiet_tensorflow()
    import numpy as np
    from tqdm import tqdm

    from lesionseg.checkpoints import load_trained
    from lesionseg.imageio import read_binary_mask, read_csv, read_rgb, resolve
    from lesionseg.metrics import ThresholdCounts, average_precision
    from lesionseg.model import model_depth, size_multiple, with_precision
    from lesionseg.predict import predict_faithful, predict_fast

    model = load_trained(args.checkpoints)
    model16 = with_precision(model, "bfloat16")
    multiple = size_multiple(model_depth(model))
    table = read_csv(args.data / args.table, ["image", "mask"], "run traintest_split.py first")
    # the first output (a single-lesion model's only one)
    paths = {"faithful": lambda im: predict_faithful(model, im, args.patch_size, args.stride)[..., 0],
             "fast": lambda im: predict_fast(model, im, multiple)[..., 0],
             "fast_bf16": lambda im: predict_fast(model16, im, multiple)[..., 0]}
    counts = {k: ThresholdCounts() for k in paths}
    seconds = dict.fromkeys(paths, 0.0)
    mad = {k: [] for k in paths if k != "faithful"}
    for row in tqdm(list(table.itertuples()), desc="images"):
        image = read_rgb(resolve(row.image, args.data))
        truth = read_binary_mask(resolve(row.mask, args.data))
        probs = {}
        for name, fn in paths.items():
            t = time.perf_counter()
            probs[name] = fn(image)
            seconds[name] += time.perf_counter() - t
            counts[name].add(probs[name], truth)
        for name in mad:
            mad[name].append(float(np.abs(probs[name] - probs["faithful"]).mean()))
    ref = average_precision(counts["faithful"])
    print(f"{len(table)} images from {args.data / args.table}")
    for name in paths:
        ap_ = average_precision(counts[name])
        extra = "" if name == "faithful" else (f"  dAUPR {ap_ - ref:+.5f}  mean |dp| {np.mean(mad[name]):.5f}"
                                               f"  max per-image mean |dp| {np.max(mad[name]):.5f}")
        print(f"{name:10s} AUPR {ap_:.5f}  {seconds[name] / len(table):6.2f} s/image{extra}")


if __name__ == "__main__":
    main()
