"""Heavy JPEG compression smoothed away before the preparation, and only where it is heavy.

Why: a photograph saved at a low JPEG quality is a mosaic of 8 x 8 blocks whose edges are steps the
network has never seen at the working scale; they cost a model more AUPR than any other corruption
of bench/corruptions.py, photometric versions and all. A camera file of normal quality shows its
block grid too, but faintly. So the grid's strength is measured on the photograph as it is stored
(`blockiness`: how much larger the steps across one column or row of the 8-pixel grid are than the
steps elsewhere), and only a photograph above a gate is smoothed, by a Gaussian about as wide as half
a block, a defocus the photometric versions teach a model to read. Below the gate the photograph is
left exactly as it is, so a model's figures on normal photographs cannot move.
"""

from __future__ import annotations

import cv2
import numpy as np

BLOCK = 8  # JPEG's block side, in pixels of the stored file
SIGMA = 3.0  # the smoothing of a heavily compressed photograph, in its own pixels; bench/deblock.py on IDRiD
# training photographs: the prepared photograph closest to the clean one at JPEG quality 20, near it at 10
GATE = 6.0  # the gate extract_patches.py --deblock suggests: IDRiD's camera files and every other corruption
# score 1 to 2.5, JPEG quality 20 about 9 to 12 and quality 10 about 14 to 24 (bench/deblock.py)


def _grid_ratio(steps: np.ndarray) -> float:
    """Mean step at each of the BLOCK positions of the grid; the largest over the median of them."""
    profile = np.array([steps[k::BLOCK].mean() for k in range(BLOCK)])
    middle = float(np.median(profile))
    return float(profile.max() / middle) if middle > 0 else 1.0


def blockiness(rgb: np.ndarray) -> float:
    """How strongly the photograph shows a JPEG block grid: about 1 without one, a few for a camera's
    own files, tens after heavy compression. Whatever the grid's offset (a cropped file): the ratio
    is taken at the grid position where the steps are largest, in both directions, and the weaker
    direction counts, since compression makes steps across columns and rows alike."""
    grey = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY).astype(np.float32)
    if min(grey.shape) < 4 * BLOCK:
        return 1.0
    across_columns = np.abs(np.diff(grey, axis=1)).mean(axis=0)
    across_rows = np.abs(np.diff(grey, axis=0)).mean(axis=1)
    return min(_grid_ratio(across_columns), _grid_ratio(across_rows))


def gated(rgb: np.ndarray, gate: float) -> bool:
    """Whether `deblock` smooths this photograph: its blockiness at least `gate` (gate 0: never)."""
    return gate > 0 and blockiness(rgb) >= gate


def deblock(rgb: np.ndarray, gate: float, sigma: float = SIGMA) -> np.ndarray:
    """The photograph smoothed by `sigma` px when it is `gated`; otherwise the very same array."""
    if not gated(rgb, gate):
        return rgb
    return cv2.GaussianBlur(np.ascontiguousarray(rgb), (0, 0), sigma)
