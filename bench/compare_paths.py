"""Faithful (512/256 grid, averaged) against fast (tiles with margins) inference with a trained
model, on the validation images of a workspace (or another table of whole images, `--table
test.csv`): AUPR of each, their difference, and the mean
absolute difference of the probabilities. Decides which path may be the default (|dAUPR| <= 0.005).
Each path goes through the model's Predictor, so it sees the inputs evaluate.py gives it.

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
    from dataclasses import asdict, replace

    import numpy as np
    from tqdm import tqdm

    from lesionseg.evaluation import read_truths
    from lesionseg.imageio import read_csv, read_rgb, resolve
    from lesionseg.metrics import ThresholdCounts, average_precision
    from lesionseg.model import with_precision
    from lesionseg.predict import Inference
    from lesionseg.predictor import Predictor

    # every path through the model's own preparation (working scale, preprocessing), the first output
    faithful = Predictor.load(args.checkpoints, asdict(Inference("faithful", patch_size=args.patch_size,
                                                                stride=args.stride)))
    fast = replace(faithful, inference=Inference())
    fast16 = replace(fast.with_model(with_precision(fast.network.model, "bfloat16")),
                     inference=Inference(precision="bfloat16"))
    table = read_csv(args.data / args.table, ["image", "mask"], "run traintest_split.py first")
    paths = {"faithful": faithful, "fast": fast, "fast_bf16": fast16}
    counts = {k: ThresholdCounts() for k in paths}
    seconds = dict.fromkeys(paths, 0.0)
    mad = {k: [] for k in paths if k != "faithful"}
    for row in tqdm(list(table.itertuples()), desc="images"):
        image = read_rgb(resolve(row.image, args.data))
        truth = read_truths(row, args.data, faithful.prep.lesions)[..., 0]
        probs = {}
        for name, predictor in paths.items():
            t = time.perf_counter()
            probs[name] = predictor.predict(image, row.image)[..., 0]
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
