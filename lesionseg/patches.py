"""Patch extraction: every positive patch, and negatives drawn at random to a fixed ratio.

Two passes so that a parallel run is deterministic: pass one labels every grid patch from the
mask alone (cheap), the seeded draw of negatives happens once over all images, pass two decodes
each image and writes the chosen patches.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from .errors import PipelineError
from .imageio import read_binary_mask, read_rgb
from .multi import pack
from .prep import Prep, prepare_image, prepare_mask
from .tiling import crop, grid

PATCH_COLUMNS = ["patch_image", "patch_mask", "source", "row", "col", "y", "x", "positive", "lesion_pixels", "padded"]


@dataclass(frozen=True)
class PatchJob:
    stem: str
    image: Path
    mask: Path
    patch: int
    stride: int
    min_lesion_pixels: int = 1
    prep: Prep = Prep()  # working scale and preprocessing; the grid is laid in scaled pixels
    lesion_masks: tuple[Path, ...] = ()  # several lesions: each one's mask (`mask` is their union)
    factor: float | None = None  # the photograph's resampling factor (Prep.factor); None: prep.scale


def label_patches(job: PatchJob) -> pd.DataFrame:
    """One row per grid patch with its lesion pixel count (no image decode)."""
    mask = prepare_mask(read_binary_mask(job.mask), job.prep, job.factor)
    h, w = mask.shape
    rows = []
    for r, c, y, x in grid(h, w, job.patch, job.stride):
        n = int(mask[y : y + job.patch, x : x + job.patch].sum())
        rows.append((job.stem, r, c, y, x, n >= job.min_lesion_pixels, n, h < job.patch or w < job.patch))
    return pd.DataFrame(rows, columns=["source", "row", "col", "y", "x", "positive", "lesion_pixels", "padded"])


def choose(labels: pd.DataFrame, neg_per_pos: float, seed: int) -> pd.DataFrame:
    """All positives plus a seeded random `neg_per_pos` times as many negatives (all if fewer)."""
    pos = labels[labels.positive]
    neg = labels[~labels.positive]
    want = min(len(neg), int(round(neg_per_pos * len(pos)))) if neg_per_pos >= 0 else len(neg)
    rng = np.random.default_rng(seed)
    picked = neg.iloc[np.sort(rng.choice(len(neg), size=want, replace=False))] if want else neg.iloc[:0]
    return pd.concat([pos, picked]).sort_values(["source", "row", "col"]).reset_index(drop=True)


def patch_name(stem: str, row: int, col: int) -> str:
    return f"{stem}_r{row:02d}_c{col:02d}"


def training_mask(image: Path, mask: Path, lesion_masks: tuple[Path, ...], prep: Prep,
                  factor: float | None = None) -> np.ndarray:
    """The mask the network learns from, at the working scale, bit-packed (bit k = lesion k; 0/1 for
    one lesion). Checked against the image's size."""
    from .imageio import image_size

    paths = lesion_masks or (mask,)
    masks = [read_binary_mask(p) for p in paths]
    width, height = image_size(image)
    for p, m in zip(paths, masks, strict=True):
        if m.shape != (height, width):
            raise PipelineError(f"{image}: image is {width}x{height}, its mask {p} {m.shape[1]}x{m.shape[0]}; "
                                "run gt_binary.py again")
    scaled = [prepare_mask(m, prep, factor) for m in masks]
    return pack(scaled)


def write_patches(job: PatchJob, chosen: pd.DataFrame, out_dir: Path) -> None:
    """Crop and save the chosen patches of one image: JPEG q100 images (as the paper), PNG masks."""
    if chosen.empty:
        return
    mask = training_mask(job.image, job.mask, job.lesion_masks, job.prep, job.factor)
    if not job.lesion_masks:
        mask *= 255  # a single lesion's patch masks stay 0/255 PNGs, as they always were
    image = prepare_image(read_rgb(job.image), job.prep, job.factor)
    for r, c, y, x in chosen[["row", "col", "y", "x"]].itertuples(index=False):
        name = patch_name(job.stem, r, c)
        # plain saves: the whole output folder is swapped in atomically by the caller
        Image.fromarray(crop(image, y, x, job.patch)).save(out_dir / "images" / f"{name}.jpg", quality=100)
        Image.fromarray(crop(mask, y, x, job.patch)).save(out_dir / "masks" / f"{name}.png", compress_level=1)
