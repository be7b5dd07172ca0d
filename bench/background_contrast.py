"""How far each image's lesions (vessels on DRIVE) stand out from its background after an input
preparation: the background is every field-of-view pixel more than 3 px from a lesion, its
standard deviation says how textured it is, and (background mean - lesion mean) / that deviation
says how well dark lesions stand out of the texture. An image far below the others is one
the network has had few examples like; this shows whether a preparation brings it back among them.

    .venv/bin/python bench/background_contrast.py --data runs/drive/data --preprocess green_clahe green_flat
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from tqdm import tqdm

from lesionseg.errors import run_cli
from lesionseg.evaluation import load_truth
from lesionseg.imageio import read_csv, read_rgb, resolve
from lesionseg.prep import PREPROCESS_CHOICES, Prep, prepare_image

AWAY = 3  # px: background pixels are further than this from any lesion pixel


def contrast(grey: np.ndarray, lesion: np.ndarray, fov: np.ndarray) -> dict[str, float]:
    """Background deviation, lesion depth below the background, and their ratio, inside the FOV."""
    far = cv2.distanceTransform((~lesion).astype(np.uint8), cv2.DIST_L2, 3) > AWAY
    back, inside = grey[far & fov], grey[lesion & fov]
    std = float(back.std())
    depth = float(back.mean() - inside.mean()) if inside.size else float("nan")
    return {"background_std": std, "lesion_depth": depth, "ratio": depth / std if std else float("nan")}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True, help="a workspace made by gt_binary.py")
    ap.add_argument("--preprocess", nargs="+", default=list(PREPROCESS_CHOICES), choices=PREPROCESS_CHOICES)
    args = ap.parse_args(argv)
    manifest = read_csv(args.data / "manifest.csv", ["stem", "image", "mask", "fov"], "run gt_binary.py first")
    rows = []
    for r in tqdm(list(manifest.itertuples()), desc="images", unit="img"):
        rgb = read_rgb(resolve(r.image, args.data))
        truth, fov = load_truth(r, args.data, rgb)  # the dataset's FOV mask, or one estimated, as evaluate.py
        lesion = truth[..., 0]
        for name in args.preprocess:
            grey = prepare_image(rgb, Prep(preprocess=name))[..., 1].astype(np.float64)  # green, or grey
            rows.append({"stem": str(r.stem), "preprocess": name} | contrast(grey, lesion, fov))
    df = pd.DataFrame(rows)
    print(f"{len(manifest)} images of {args.data}; background: FOV pixels more than {AWAY} px from a lesion")
    for name, d in df.groupby("preprocess", sort=False):
        d = d.drop(columns="preprocess")
        low = d.nsmallest(2, "ratio")
        print(f"\n{name}: ratio (lesion depth / background std) median {d.ratio.median():.2f}, "
              f"range {d.ratio.min():.2f} to {d.ratio.max():.2f}; lowest {low.stem.iloc[0]} "
              f"({low.ratio.iloc[0]:.2f}), then {low.stem.iloc[1]} ({low.ratio.iloc[1]:.2f})")
        print(d.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    return 0


if __name__ == "__main__":
    run_cli(main)
