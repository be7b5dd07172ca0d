"""What heavy JPEG takes from a model, part by part: AUPR on the benchmark's photographs (a workspace's
validation and held-out images, never an official test set) clean, compressed, with only the
lightness compressed (colour from the clean photograph), with only the colour compressed, and
compressed then smoothed by the deblocking gate (lesionseg.deblock, whatever the model stores).

If smoothing brings little back while the lightness alone costs most of the drop, the loss is the
detail the quantisation threw away, which no filter restores.

    .venv/bin/python bench/jpeg_parts.py --data runs/robust/p1/data --checkpoints runs/robust/p1/checkpoints

Writes jpeg_parts.csv to --out.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def swap(clean: np.ndarray, compressed: np.ndarray, lightness: bool) -> np.ndarray:
    """The clean photograph with the compressed one's lightness (Y of YCrCb), or with its colour (Cr, Cb)."""
    import cv2

    out = cv2.cvtColor(clean, cv2.COLOR_RGB2YCrCb)
    other = cv2.cvtColor(compressed, cv2.COLOR_RGB2YCrCb)
    parts = slice(0, 1) if lightness else slice(1, 3)
    out[..., parts] = other[..., parts]
    return cv2.cvtColor(out, cv2.COLOR_YCrCb2RGB)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True, help="a workspace with val_images.csv and test.csv")
    ap.add_argument("--checkpoints", type=Path, required=True, help="the model folder")
    ap.add_argument("--out", type=Path, default=Path("runs/jpeg_parts"))
    ap.add_argument("--quality", type=int, default=10)
    ap.add_argument("--gate", type=float, default=0.0, help="the deblocking gate; 0: lesionseg.deblock.GATE")
    ap.add_argument("--limit", type=int, default=0, help="only the first N photographs")
    args = ap.parse_args(argv)
    from lesionseg.quiet import quiet_tensorflow

    quiet_tensorflow()
    import pandas as pd
    from tqdm import tqdm

    from lesionseg.corruptions import jpeg
    from lesionseg.deblock import GATE, deblock
    from lesionseg.evaluation import read_truths
    from lesionseg.imageio import read_csv, read_rgb, resolve, write_csv
    from lesionseg.metrics import ThresholdCounts, average_precision
    from lesionseg.predictor import Predictor

    predictor = Predictor.load(args.checkpoints, {"tta": False})
    table = pd.concat([read_csv(args.data / t, ["stem", "image", "mask"], "run traintest_split.py first")
                       for t in ("val_images.csv", "test.csv")]).sort_values("stem")
    table = table.head(args.limit) if args.limit else table
    gate = args.gate or GATE
    views = {
        "clean": lambda rgb, c: rgb,
        f"JPEG {args.quality}": lambda rgb, c: c,
        "lightness compressed only": lambda rgb, c: swap(rgb, c, lightness=True),
        "colour compressed only": lambda rgb, c: swap(rgb, c, lightness=False),
        f"JPEG {args.quality}, deblocked (gate {gate:g})": lambda rgb, c: deblock(c, gate),
    }
    counts = {name: ThresholdCounts() for name in views}
    for row in tqdm(list(table.itertuples()), desc="photographs", unit="img"):
        rgb = read_rgb(resolve(row.image, args.data))
        truth = read_truths(row, args.data, predictor.prep.lesions)[..., 0]
        compressed = jpeg(rgb, args.quality)
        for name, view in views.items():
            counts[name].add(predictor.predict(view(rgb, compressed), f"{row.stem} ({name})")[..., 0], truth)
    clean = average_precision(counts["clean"])
    rows = [{"view": name, "aupr": (a := average_precision(c)), "drop": clean - a} for name, c in counts.items()]
    args.out.mkdir(parents=True, exist_ok=True)
    write_csv(pd.DataFrame(rows), args.out / "jpeg_parts.csv")
    print(f"{len(table)} photographs; model {args.checkpoints} ({predictor.engine}), its preparation as stored")
    for r in rows:
        print(f"{r['view']:40s} AUPR {r['aupr']:.4f}  drop {r['drop']:+.4f}")
    print(f"wrote {args.out / 'jpeg_parts.csv'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
