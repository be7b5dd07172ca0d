"""One structure per photograph: the optic disc (one per eye) kept, every other blob let go.

A disc model marks a few bright blobs far from the disc as well (RESULTS.md: 4.5 false components a
photograph on the development split). With `Inference.largest_component` the predictor keeps, in each
output's map, only the connected region (8-connectivity) of probability at least LEVEL that holds the
most probability, and sets the rest to 0. It works on probabilities, before any threshold, so the
threshold evaluate.py chooses on validation images is chosen on what infer.py will write, and every
threshold above LEVEL sees one region. Whether it helps a model is for its validation images to say
(bench/largest_component.py).

With `Inference.convex_hull` the kept region is also given the disc's shape: each of its level sets
(the pixels at or above a threshold, at HULL_STEPS thresholds from LEVEL up) is filled to its convex
hull, so that whatever threshold is chosen later, the mask at it is a convex region holding the one
at that threshold before. A disc model marks the bright cup and misses the dimmer rim (RESULTS.md):
the hull fills the rim between the marked parts of the edge and the holes inside. `Inference.fill_holes`
is the milder prior: each level set gets only its holes filled (a disc has none; the vessels that cross
it leave some at a threshold), so no pixel outside the region's own outline is added.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
from scipy import ndimage

from .lesions import EIGHT

LEVEL = 0.1  # a region is what stays connected at this probability: the disc's faint rim included
HULL_STEPS = 64  # thresholds whose level sets are filled to their hulls (one between two: within a step)


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


def _fill_levels(prob: np.ndarray, fill: Callable[[np.ndarray], np.ndarray], level: float, steps: int) -> np.ndarray:
    """HxW or HxWxK probabilities with each channel's level sets at `steps` thresholds from `level` up
    replaced by `fill` of them (a bool mask holding the set): a pixel gets the least probability of the highest
    level set whose filling holds it, or its own where that is higher (so no probability falls)."""
    if prob.ndim == 3:
        return np.stack([_fill_levels(prob[..., k], fill, level, steps) for k in range(prob.shape[2])], axis=-1)
    out = prob.astype(np.float32)  # a copy
    ys, xs = np.nonzero(prob >= level)
    if ys.size == 0:
        return out
    box = np.s_[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]  # every level set lies inside it
    inside, view = prob[box], out[box]
    for t in np.linspace(level, 1.0, steps, endpoint=False, dtype=np.float32):
        mask = inside >= t
        if not mask.any():
            break
        # the filling takes the least probability in the set, not t: exact for every threshold up to it
        np.maximum(view, np.where(fill(mask), inside[mask].min(), 0).astype(np.float32), out=view)
    return out


def _hull(mask: np.ndarray) -> np.ndarray:
    hull = np.zeros(mask.shape, np.uint8)
    cv2.fillConvexPoly(hull, cv2.convexHull(cv2.findNonZero(mask.astype(np.uint8))), 1)
    return hull > 0


def hull_levels(prob: np.ndarray, level: float = LEVEL, steps: int = HULL_STEPS) -> np.ndarray:
    """Each level set filled to its convex hull (see _fill_levels). Meant for one region per map (keep_largest
    first): the hull of scattered blobs is the area between them."""
    return _fill_levels(prob, _hull, level, steps)


def hole_levels(prob: np.ndarray, level: float = LEVEL, steps: int = HULL_STEPS) -> np.ndarray:
    """Each level set with its holes filled (see _fill_levels): what a set encloses joins it, nothing else."""
    return _fill_levels(prob, ndimage.binary_fill_holes, level, steps)
