"""Field of view (the lit retina disc) from the photograph, for datasets that ship no FOV mask."""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage

DARK = 20  # the surround of a fundus photograph is black; its JPEG noise stays below this


def fov_from_image(rgb: np.ndarray, step: int = 4) -> np.ndarray:
    """Bool HxW: bright-enough pixels, holes filled, largest component; computed at 1/step size."""
    h, w = rgb.shape[:2]
    small = rgb[::step, ::step].max(axis=2)
    lit = ndimage.median_filter(small, size=3) > DARK
    labels, n = ndimage.label(lit)
    if n > 1:
        sizes = ndimage.sum_labels(lit, labels, index=np.arange(1, n + 1))
        lit = labels == (1 + int(np.argmax(sizes)))
    lit = ndimage.binary_fill_holes(lit)
    full = Image.fromarray(lit.astype(np.uint8) * 255).resize((w, h), Image.NEAREST)
    return np.asarray(full) > 0
