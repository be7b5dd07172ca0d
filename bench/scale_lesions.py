"""What a working scale does to a lesion's ground truth: of the lesions (8-connected components)
drawn at full resolution, how many still have a pixel in the mask the network trains on at that
scale, and how much of the lesion area survives. Small lesions (microaneurysms are a few pixels
wide) are the ones a lower scale can erase, so this says which scale a lesion can afford.

    .venv/bin/python bench/scale_lesions.py --data runs/idrid-ma/data --scales 1 0.75 0.5
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import ndimage
from tqdm import tqdm

from lesionseg.errors import run_cli
from lesionseg.imageio import read_binary_mask, read_csv, resolve
from lesionseg.lesions import EIGHT
from lesionseg.prep import Prep, prepare_mask, to_original


def survival(mask: np.ndarray, prep: Prep) -> dict[str, float]:
    """Counts for one full-resolution mask at one scale: lesions, lesions kept (a pixel of theirs
    is lesion after scaling down and back up), lesion pixels, pixels kept."""
    labels, n = ndimage.label(mask, EIGHT)
    back = to_original(prepare_mask(mask, prep).astype(np.float32), *mask.shape) >= 0.5
    kept = np.unique(labels[back & mask])
    return {"lesions": n, "lesions_kept": int((kept > 0).sum()), "pixels": int(mask.sum()),
            "pixels_kept": int((back & mask).sum()), "pixels_added": int((back & ~mask).sum())}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True, help="a workspace made by gt_binary.py")
    ap.add_argument("--scales", type=float, nargs="+", default=[1.0, 0.75, 0.5])
    ap.add_argument("--mask-share", type=float, default=0.5)
    args = ap.parse_args(argv)
    manifest = read_csv(args.data / "manifest.csv", ["stem", "mask"], "run gt_binary.py first")
    rows = []
    for r in tqdm(list(manifest.itertuples()), desc="masks", unit="img"):
        mask = read_binary_mask(resolve(r.mask, args.data))
        for scale in args.scales:
            rows.append({"scale": scale} | survival(mask, Prep(scale, args.mask_share)))
    df = pd.DataFrame(rows).groupby("scale").sum().sort_index(ascending=False)
    print(f"{len(manifest)} masks of {args.data}; a lesion is kept when a pixel of it is still lesion after "
          f"scaling down (mask share {args.mask_share}) and back up")
    print(f"{'scale':>6s}{'lesions':>9s}{'kept':>8s}{'share':>7s}{'pixels kept':>13s}{'pixels added':>14s}")
    for scale, d in df.iterrows():
        print(f"{scale:6.2f}{d.lesions:9.0f}{d.lesions_kept:8.0f}{d.lesions_kept / max(d.lesions, 1):7.3f}"
              f"{d.pixels_kept / max(d.pixels, 1):13.3f}{d.pixels_added / max(d.pixels, 1):14.3f}")
    return 0


if __name__ == "__main__":
    run_cli(main)
