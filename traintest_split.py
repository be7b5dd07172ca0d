"""Stage 3: split into train / validation / test, by whole image by default (no leak).

Writes data/train.csv and data/val.csv (patch image, patch mask, source image), and
data/test.csv and data/val_images.csv (full image, full mask, field-of-view mask, and each lesion's
mask when there are several) for evaluation.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from lesionseg.cli import constants_parser, script_constants
from lesionseg.errors import PipelineError, run_cli, warn
from lesionseg.imageio import read_csv, write_csv
from lesionseg.multi import lesions_of, mask_column
from lesionseg.split import leaked_images, measured_held_out, split_images, split_patches

DATA = Path("data")  # the workspace of extract_patches.py
BY = "image"  # "image": whole images on each side; "patch": the paper code's random 80/20 (leaks)
VAL_FRACTION = 0.2  # share of training images (or patches, with --by patch) used for validation
TEST_FRACTION = 0.2  # share of images held out as test when the layout has no testing set
SEED = 42  # the draw of the held-out and validation images
STRATIFY = False  # draw the validation images among those with the lesion and those without it apart,
# so that a lesion found in few photographs (soft exudates) still has its share to choose the epoch and threshold on

CONSTANTS = script_constants(globals())


def build_parser() -> argparse.ArgumentParser:
    return constants_parser(__doc__, CONSTANTS, {"BY": ["image", "patch"]})


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    for name in ("val_fraction", "test_fraction"):
        if not 0 <= getattr(args, name) < 1:
            raise PipelineError(f"--{name.replace('_', '-')} must be in [0, 1)")
    manifest = read_csv(args.data / "manifest.csv", ["stem", "image", "mask", "fov", "split"], "run gt_binary.py first")
    patches = read_csv(args.data / "patches" / "patches.csv", ["patch_image", "patch_mask", "source"],
                       "run extract_patches.py first")
    role = split_images(manifest, args.val_fraction if args.by == "image" else 0.0, args.test_fraction, args.seed,
                        args.stratify)
    patches = patches[patches.source.map(role).fillna("test") != "test"]
    if args.by == "patch":
        warn("--by patch splits patches at random: patches of one image land in both train and validation, "
             "so validation figures are optimistic (the paper code's leak)")
        patch_role = split_patches(patches, args.val_fraction, args.seed)
    else:
        patch_role = patches.source.map(role)
    cols = ["patch_image", "patch_mask", "source"]
    train, val = patches[patch_role == "train"][cols], patches[patch_role == "val"][cols]
    if train.empty:
        raise PipelineError("the split leaves no training patches; lower --val-fraction / --test-fraction")
    leak = leaked_images(train, val)
    full = manifest[["stem", "image", "mask", "fov", *(mask_column(c) for c in lesions_of(manifest))]]
    test_images = full[manifest.stem.map(role) == "test"]
    # By image, every validation image is scored whole, also one that gave no patch (an image without
    # the lesion whose negatives were not drawn); by patch, the images behind the validation patches.
    val_stems = set(val.source) if args.by == "patch" else {s for s, r in role.items() if r == "val"}
    val_images = full[manifest.stem.isin(val_stems)]
    for name, df in (("train", train), ("val", val), ("test", test_images), ("val_images", val_images)):
        write_csv(df.reset_index(drop=True), args.data / f"{name}.csv")
    if leaked := measured_held_out(args.data, set(test_images.stem)):
        warn(f"{args.data / 'patches'}: extract_patches.py measured the field-of-view width or the colour "
             f"medians on {len(leaked)} photograph(s) now held out ({', '.join(leaked[:3])}"
             f"{', ...' if len(leaked) > 3 else ''}); run it again with --test-fraction {args.test_fraction:g} "
             f"--split-seed {args.seed} so that they give nothing to the preparation")
    n_img = pd.Series(role).value_counts()
    print(f"images: train {n_img.get('train', 0)}, val {n_img.get('val', 0)}, test {n_img.get('test', 0)}"
          f"  |  patches: train {len(train)}, val {len(val)}"
          + (f"  |  {len(leak)} images have patches on both sides" if leak else ""))
    print(f"wrote {', '.join(str(args.data / f'{n}.csv') for n in ('train', 'val', 'test', 'val_images'))}")
    return 0


if __name__ == "__main__":
    run_cli(main)
