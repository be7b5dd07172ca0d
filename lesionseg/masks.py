"""Ground-truth binarization as the paper's code: grayscale, then 0 below 50 and 255 from 50 up."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import PipelineError
from .imageio import image_size, open_image, read_binary_mask, read_gray, save_png
from .layouts import Sample

THRESHOLD = 50


def binarize(gray: np.ndarray, threshold: int = THRESHOLD) -> np.ndarray:
    """uint8 0/255. IDRiD's red palette entry is grey 76, so it lands on 255."""
    return np.where(gray < threshold, 0, 255).astype(np.uint8)


def check_image_complete(path: Path) -> tuple[int, int]:
    """(width, height); a JPEG must end with its end-of-image marker, anything else must decode."""
    size = image_size(path)
    if path.suffix.lower() in (".jpg", ".jpeg"):
        with open(path, "rb") as fh:
            fh.seek(max(0, path.stat().st_size - 4096))
            if b"\xff\xd9" not in fh.read():
                raise PipelineError(f"{path}: JPEG is truncated (no end marker); download it again or remove it")
    else:
        open_image(path)
    return size


def binarize_sample(sample: Sample, out_path: Path, threshold: int = THRESHOLD) -> float:
    """Write the sample's 0/255 PNG mask; returns the lesion pixel fraction."""
    width, height = check_image_complete(sample.image)
    if sample.mask is None:
        mask = np.zeros((height, width), np.uint8)
    else:
        mask = binarize(read_gray(sample.mask), threshold)
        if mask.shape != (height, width):
            raise PipelineError(
                f"{sample.mask}: mask is {mask.shape[1]}x{mask.shape[0]} but its image {sample.image.name} is "
                f"{width}x{height}; the pair does not belong together"
            )
    if sample.fov is not None:
        fw, fh = image_size(sample.fov)
        if (fw, fh) != (width, height):
            raise PipelineError(f"{sample.fov}: field-of-view mask is {fw}x{fh}, image is {width}x{height}")
    save_png(mask, out_path)
    return float((mask > 0).mean())


def union_mask(paths: list[Path], out_path: Path) -> float:
    """The union of several derived 0/255 masks, written as one; returns its lesion pixel fraction."""
    union = np.logical_or.reduce([read_binary_mask(p) for p in paths])
    save_png(union.astype(np.uint8) * 255, out_path)
    return float(union.mean())
