"""Field of view (the lit retina disc) from the photograph, for datasets that ship no FOV mask."""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage

DARK = 20  # the surround of a fundus photograph is black; its JPEG noise stays below this
MIN_LIT = 0.05  # a field of view covers at least this share of the frame
CORNER = 0.06  # the corner squares (share of the shorter side) that are dark around a round field of view


def _lit(rgb: np.ndarray, step: int) -> np.ndarray:
    """The field of view at 1/step size: bright-enough pixels, largest component, holes filled."""
    small = rgb[::step, ::step].max(axis=2)
    lit = ndimage.median_filter(small, size=3) > DARK
    labels, n = ndimage.label(lit)
    if n > 1:
        sizes = ndimage.sum_labels(lit, labels, index=np.arange(1, n + 1))
        lit = labels == (1 + int(np.argmax(sizes)))
    return ndimage.binary_fill_holes(lit)


MASK_STEP = 4  # fov_from_image's default


def _full(lit: np.ndarray, height: int, width: int) -> np.ndarray:
    full = Image.fromarray(lit.astype(np.uint8) * 255).resize((width, height), Image.NEAREST)
    return np.asarray(full) > 0


def fov_from_image(rgb: np.ndarray, step: int = MASK_STEP) -> np.ndarray:
    """Bool HxW: bright-enough pixels, holes filled, largest component; computed at 1/step size."""
    return _full(_lit(rgb, step), *rgb.shape[:2])


def _diameter_step(rgb: np.ndarray) -> int:
    return max(1, min(rgb.shape[:2]) // 700)  # 4 on a 4288 x 2848 photograph, 1 on a small one


def fov_diameter(rgb: np.ndarray, step: int | None = None) -> float | None:
    """The field of view's diameter in pixels: the wider of its horizontal and vertical extents, since
    most cameras crop the disc at the top and bottom but not at the sides. None where no round field
    of view shows: nothing lit, or a lit frame without dark corners (a crop inside the disc)."""
    step = step or _diameter_step(rgb)
    return _diameter(_lit(rgb, step), step, rgb.shape)


def measure(rgb: np.ndarray) -> tuple[np.ndarray, float | None]:
    """(fov_from_image(rgb), fov_diameter(rgb)), finding the lit disc once where both use one step
    (every photograph whose shorter side is 2,800 to 3,499 px, IDRiD's among them)."""
    step = _diameter_step(rgb)
    lit = _lit(rgb, step)
    mask = _full(lit, *rgb.shape[:2]) if step == MASK_STEP else fov_from_image(rgb)
    return mask, _diameter(lit, step, rgb.shape)


def _diameter(lit: np.ndarray, step: int, shape: tuple[int, ...]) -> float | None:
    if lit.sum() < MIN_LIT * lit.size:
        return None
    h, w = lit.shape
    c = max(1, round(CORNER * min(h, w)))
    dark_corners = sum(block.mean() < 0.5 for block in (lit[:c, :c], lit[:c, -c:], lit[-c:, :c], lit[-c:, -c:]))
    if dark_corners < 3:  # a label printed in one corner may survive; a crop inside the disc has none
        return None
    rows, cols = np.flatnonzero(lit.any(axis=1)), np.flatnonzero(lit.any(axis=0))
    extent = max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1)
    return float(min(extent * step, max(shape[:2])))
