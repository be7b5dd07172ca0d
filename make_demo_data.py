"""Write a synthetic dataset in the official IDRiD folder layout, for the demo and the tests.

Masks are 1-bit palette TIFFs like IDRiD's; the last testing mask is RGBA like the real
IDRiD_81_EX.tif. About a third of the images form the testing set. With --haemorrhages N each image
also gets N dark haemorrhage-like blots, labelled in the "2. Haemorrhages" folder (for models of
several lesions).
"""

from __future__ import annotations

import argparse
from functools import partial
from pathlib import Path

from PIL import Image

from lesionseg.cli import constants_parser, parse_size, script_constants
from lesionseg.errors import PipelineError, run_cli
from lesionseg.layouts import IDRID_SPLITS, LESIONS
from lesionseg.parallel import default_workers, pmap
from lesionseg.synthetic import fundus_lesions, write_palette_tiff_1bit, write_rgba_mask

OUT = Path("data/IDRiD")  # written in the official IDRiD layout
N_IMAGES = 12  # synthetic photographs
SIZE = "4288x2848"  # width x height
TEST_SHARE = 1 / 3  # share that goes to the layout's testing set
SEED = 0  # the drawing of the photographs
HAEMORRHAGES = 0  # haemorrhage-like blots per image (0: exudates only, and no HE masks)
WORKERS = default_workers()  # parallel processes

CONSTANTS = script_constants(globals())


def _write(item: tuple[int, str, bool], root: Path, size: tuple[int, int], seed: int, blots: int) -> None:
    number, folder, rgba = item
    img, masks = fundus_lesions(*size, seed=seed * 1000 + number, n_blots=blots)
    stem = f"IDRiD_{number:02d}"
    Image.fromarray(img).save(root / "1. Original Images" / folder / f"{stem}.jpg", quality=95)
    for code in ("EX", "HE") if blots else ("EX",):
        mask_dir = root / "2. All Segmentation Groundtruths" / folder / LESIONS[code]
        (write_rgba_mask if rgba else write_palette_tiff_1bit)(masks[code], mask_dir / f"{stem}_{code}.tif")


def build_parser() -> argparse.ArgumentParser:
    return constants_parser(__doc__, CONSTANTS)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    size = parse_size(args.size)
    if args.n_images < 2:
        raise PipelineError("--n-images must be at least 2 (one training and one testing image)")
    n_test = max(1, round(args.n_images * args.test_share))
    root = args.out / "A. Segmentation"
    for folder in IDRID_SPLITS:
        (root / "1. Original Images" / folder).mkdir(parents=True, exist_ok=True)
        for code in ("EX", "HE") if args.haemorrhages else ("EX",):
            (root / "2. All Segmentation Groundtruths" / folder / LESIONS[code]).mkdir(parents=True, exist_ok=True)
    train_f, test_f = IDRID_SPLITS
    items = [(i, train_f if i <= args.n_images - n_test else test_f, i == args.n_images)
             for i in range(1, args.n_images + 1)]
    if args.haemorrhages < 0:
        raise PipelineError("--haemorrhages must be 0 or more")
    pmap(partial(_write, root=root, size=size, seed=args.seed, blots=args.haemorrhages), items, args.workers,
         "synthesize")
    print(f"wrote {args.n_images} synthetic {size[0]}x{size[1]} images ({n_test} testing) under {root}")
    return 0


if __name__ == "__main__":
    run_cli(main)
