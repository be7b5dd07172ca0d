"""Stage 1: binarize the dataset's lesion masks into the workspace, and list the image/mask pairs.

Reads the IDRiD layout (any lesion), DRIVE (vessels, with field-of-view masks) or an images/ +
masks/ folder pair; writes data/masks/<stem>.png (0/255, lossless) and data/manifest.csv. With
several IDRiD lesions (--lesion EX,HE) each goes to data/masks/<CODE>/<stem>.png and its own
manifest column, and data/masks/<stem>.png holds their union.
"""

from __future__ import annotations

import argparse
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from lesionseg.cli import constants_parser, script_constants
from lesionseg.errors import PipelineError, run_cli
from lesionseg.imageio import atomic_dir, relative_to, remove_stale_tmp, write_csv
from lesionseg.layouts import LESIONS, Sample, load_samples
from lesionseg.masks import binarize_sample, union_mask
from lesionseg.multi import lesion_type, mask_column
from lesionseg.parallel import default_workers, pmap

RAW = Path("data/IDRiD")  # the dataset as downloaded
DATA = Path("data")  # workspace of derived files
LESION = "EX"  # IDRiD lesion: EX hard exudates, HE haemorrhages, MA, SE, OD; several: EX,HE,MA,SE
THRESHOLD = 50  # grey level from which a mask pixel is lesion (the paper's code)
WORKERS = default_workers()  # parallel processes

CONSTANTS = script_constants(globals())


def _one(sample: Sample, out_dir: Path, threshold: int) -> float:
    return binarize_sample(sample, out_dir / f"{sample.stem}.png", threshold)


def binarize_lesions(raw: Path, lesions: tuple[str, ...], out: Path, threshold: int,
                     workers: int) -> tuple[str, list[Sample], dict[str, list[float]]]:
    """Each lesion's masks under out/<CODE>/ (or out/ for one lesion) and, for several, their union in
    out/; returns the layout, the samples and each lesion's pixel fractions (key "" for the union)."""
    fractions: dict[str, list[float]] = {}
    stems = None
    for code in lesions:
        layout, samples = load_samples(raw, code)
        if len(lesions) > 1 and layout != "idrid":
            raise PipelineError(f"{raw}: several lesions need the IDRiD layout (this is {layout}); pass one --lesion")
        if stems is not None and [s.stem for s in samples] != stems:
            raise PipelineError(f"{raw}: the {code} images differ from the {lesions[0]} images; check the download")
        stems = [s.stem for s in samples]
        folder = out / code if len(lesions) > 1 else out
        folder.mkdir(exist_ok=True)
        fractions[code] = pmap(partial(_one, out_dir=folder, threshold=threshold), samples, workers,
                               f"binarize {code}" if len(lesions) > 1 else "binarize")
    if len(lesions) > 1:
        fractions[""] = [union_mask([out / c / f"{s}.png" for c in lesions], out / f"{s}.png") for s in stems]
    return layout, samples, fractions


def build_parser() -> argparse.ArgumentParser:
    return constants_parser(__doc__, CONSTANTS, types={"LESION": lesion_type(tuple(LESIONS))})


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    lesions = args.lesion
    args.data.mkdir(parents=True, exist_ok=True)
    remove_stale_tmp(args.data)
    with atomic_dir(args.data / "masks") as tmp:
        layout, samples, fractions = binarize_lesions(args.raw, lesions, tmp, args.threshold, args.workers)
    manifest = pd.DataFrame({
        "stem": [s.stem for s in samples],
        "image": [relative_to(s.image, args.data) for s in samples],
        "mask": [f"masks/{s.stem}.png" for s in samples],
        "fov": [relative_to(s.fov, args.data) if s.fov else "" for s in samples],
        "split": [s.split for s in samples],
        "lesion_fraction": fractions.get("", fractions[lesions[0]]),
    })
    if len(lesions) > 1:
        for code in lesions:
            manifest[mask_column(code)] = [f"masks/{code}/{s.stem}.png" for s in samples]
            manifest[f"lesion_fraction_{code}"] = fractions[code]
    write_csv(manifest, args.data / "manifest.csv")
    counts = manifest.split.replace("", "unsplit").value_counts().sort_index()
    splits = ", ".join(f"{k}: {v}" for k, v in counts.items())
    target = "vessels" if layout == "drive" else ",".join(lesions)
    print(f"layout {layout}, {target}: {len(samples)} images ({splits})")
    for code in ([""] + list(lesions)) if len(lesions) > 1 else [lesions[0]]:
        f = np.array(fractions[code])
        name = (code or "any lesion") + ": " if len(lesions) > 1 else ""
        print(f"{name}lesion pixel fraction per image: min {f.min():.5f}  median {np.median(f):.5f}  max {f.max():.5f}"
              f"  ({(f == 0).sum()} without lesion)")
    print(f"wrote {args.data / 'masks'}/ and {args.data / 'manifest.csv'}")
    return 0


if __name__ == "__main__":
    run_cli(main)
