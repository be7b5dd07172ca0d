"""One structure per photograph: the optic disc (one per eye) kept, every other blob let go.

A disc model marks a few bright blobs far from the disc as well (RESULTS.md: 4.5 false components a
photograph on the development split). With `Inference.largest_component` the predictor keeps, in each
output's map, only the connected region (8-connectivity) of probability at least LEVEL that holds the
most probability, and sets the rest to 0. It works on probabilities, before any threshold, so the
threshold evaluate.py chooses on validation images is chosen on what infer.py will write, and every
threshold above LEVEL sees one region. Whether it helps a model is for its validation images to say
(bench/largest_component.py).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from .lesions import EIGHT

LEVEL = 0.1  # a region is what stays connected at this probability: the disc's faint rim included


def keep_largest(prob: np.ndarray, level: float = LEVEL) -> np.ndarray:
    """HxW or HxWxK probabilities with, in each channel, only the region of most probability mass kept
    (float32; a channel with no pixel at `level` is returned as it is)."""
    if prob.ndim == 3:
        return np.stack([keep_largest(prob[..., k], level) for k in range(prob.shape[2])], axis=-1)
    labels, n = ndimage.label(prob >= level, EIGHT)
    if n == 0:
        return prob.astype(np.float32)
    mass = ndimage.sum_labels(prob, labels, np.arange(1, n + 1))
    return (prob * (labels == 1 + int(np.argmax(mass)))).astype(np.float32)
