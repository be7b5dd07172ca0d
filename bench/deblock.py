"""Where the deblocking gate and its smoothing come from (lesionseg.deblock): measured on a
workspace's training photographs only (train.csv's sources), with no model and no mask.

For each photograph: its blockiness as stored and under each of bench/corruptions.py's corruptions
(a gate must pass every one but heavy JPEG), then, for JPEG at each quality, how close the prepared
photograph (the workspace's own preparation, at the working scale, inside the field of view) comes
back to the prepared clean one after smoothing by each sigma (PSNR; sigma 0: not smoothed).

    .venv/bin/python bench/deblock.py --data runs/robust/p1/data --limit 8

Writes deblock_blockiness.csv and deblock_psnr.csv to --out.
"""

from __future__ import annotations

import argparse
from pathlib import Path

SIGMAS = (0.0, 1.0, 2.0, 3.0, 4.0, 6.0)
QUALITIES = (50, 30, 20, 10)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True, help="a workspace with train.csv and patches/prep.json")
    ap.add_argument("--out", type=Path, default=Path("runs/deblock"))
    ap.add_argument("--limit", type=int, default=8, help="the first N training photographs (sorted)")
    args = ap.parse_args(argv)
    import cv2
    import numpy as np
    import pandas as pd
    from tqdm import tqdm

    from lesionseg.corruptions import CORRUPTIONS, corrupt, jpeg
    from lesionseg.deblock import blockiness
    from lesionseg.fov import fov_from_image
    from lesionseg.imageio import read_csv, read_rgb, resolve, write_csv
    from lesionseg.prep import PREP_FILE, Prep, prepare_image

    prep = Prep.read(args.data / "patches" / PREP_FILE, missing_ok=False)
    manifest = read_csv(args.data / "manifest.csv", ["stem", "image"], "run gt_binary.py first")
    sources = set(read_csv(args.data / "train.csv", ["source"], "run traintest_split.py first").source)
    rows = manifest[manifest.stem.isin(sources)].sort_values("stem").head(args.limit)
    grid, psnr = [], []
    for row in tqdm(list(rows.itertuples()), desc="photographs", unit="img"):
        rgb = read_rgb(resolve(row.image, args.data))
        grid.append({"stem": row.stem, "condition": "clean", "blockiness": blockiness(rgb)})
        for name, (_, strengths) in CORRUPTIONS.items():
            for s in strengths:
                grid.append({"stem": row.stem, "condition": f"{name} {s:g}",
                             "blockiness": blockiness(corrupt(rgb, name, s))})
        factor = prep.factor(rgb)
        clean = prepare_image(rgb, prep, factor).astype(np.float32)
        inside = fov_from_image(clean.astype(np.uint8))
        for q in QUALITIES:
            compressed = jpeg(rgb, q)
            grid.append({"stem": row.stem, "condition": f"jpeg {q}", "blockiness": blockiness(compressed)})
            for sigma in SIGMAS:
                smoothed = cv2.GaussianBlur(compressed, (0, 0), sigma) if sigma else compressed
                err = (prepare_image(smoothed, prep, factor).astype(np.float32) - clean)[inside]
                psnr.append({"stem": row.stem, "quality": q, "sigma": sigma,
                             "psnr": float(10 * np.log10(255**2 / max(1e-6, float(np.mean(err**2)))))})
    args.out.mkdir(parents=True, exist_ok=True)
    grid, psnr = pd.DataFrame(grid).drop_duplicates(["stem", "condition"]), pd.DataFrame(psnr)
    write_csv(grid, args.out / "deblock_blockiness.csv")
    write_csv(psnr, args.out / "deblock_psnr.csv")
    print("blockiness (min / median / max over the photographs):")
    print(grid.groupby("condition", sort=False).blockiness.agg(["min", "median", "max"]).round(2).to_string())
    print("\nprepared photograph against the prepared clean one, PSNR in dB (mean over the photographs):")
    print(psnr.pivot_table(index="quality", columns="sigma", values="psnr").round(2).to_string())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
