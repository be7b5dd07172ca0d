"""Stage 1: binarize the dataset's lesion masks into the workspace, and list the image/mask pairs.

Reads the IDRiD layout (any lesion), DRIVE (vessels, with field-of-view masks) or an images/ +
masks/ folder pair; writes data/masks/<stem>.png (0/255, lossless) and data/manifest.csv.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from lesionseg.cli import constants_parser, script_constants
from lesionseg.errors import run_cli
from lesionseg.imageio import atomic_dir, relative_to, remove_stale_tmp, write_csv
from lesionseg.layouts import LESIONS, Sample, load_samples
from lesionseg.masks import binarize_sample
from lesionseg.parallel import default_workers, pmap

RAW = Path("data/IDRiD")  # the dataset as downloaded
DATA = Path("data")  # workspace of derived files
LESION = "EX"  # IDRiD lesion: EX hard exudates, HE haemorrhages, MA, SE, OD
THRESHOLD = 50  # grey level from which a mask pixel is lesion (the paper's code)
WORKERS = default_workers()

CONSTANTS = script_constants(globals())


def _one(sample: Sample, out_dir: Path, threshold: int) -> float:
    return binarize_sample(sample, out_dir / f"{sample.stem}.png", threshold)


def main(argv: list[str] | None = None) -> int:
    args = constants_parser(__doc__, CONSTANTS, {"LESION": list(LESIONS)}).parse_args(argv)
    layout, samples = load_samples(args.raw, args.lesion)
    args.data.mkdir(parents=True, exist_ok=True)
    remove_stale_tmp(args.data)
    with atomic_dir(args.data / "masks") as tmp:
        fractions = pmap(partial(_one, out_dir=tmp, threshold=args.threshold), samples, args.workers, "binarize")
    manifest = pd.DataFrame({
        "stem": [s.stem for s in samples],
        "image": [relative_to(s.image, args.data) for s in samples],
        "mask": [f"masks/{s.stem}.png" for s in samples],
        "fov": [relative_to(s.fov, args.data) if s.fov else "" for s in samples],
        "split": [s.split for s in samples],
        "lesion_fraction": fractions,
    })
    write_csv(manifest, args.data / "manifest.csv")
    f = np.array(fractions)
    counts = manifest.split.replace("", "unsplit").value_counts().sort_index()
    splits = ", ".join(f"{k}: {v}" for k, v in counts.items())
    target = "vessels" if layout == "drive" else args.lesion
    print(f"layout {layout}, {target}: {len(samples)} images ({splits})")
    print(f"lesion pixel fraction per image: min {f.min():.5f}  median {np.median(f):.5f}  max {f.max():.5f}"
          f"  ({(f == 0).sum()} without lesion)")
    print(f"wrote {args.data / 'masks'}/ and {args.data / 'manifest.csv'}")
    return 0


if __name__ == "__main__":
    run_cli(main)
