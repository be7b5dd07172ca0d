"""The patch grid and stitching, shared by patch extraction and full-image prediction.

The grid follows the paper's code: positions every `stride` pixels and the last one snapped to the
image edge, with round((L - patch) / stride) + 1 positions per axis. On IDRiD's 4288x2848 that is
16 columns (last x = 3776) and 10 rows (last y = 2336), 160 patches. A gap is never left: if the
snapped step would exceed the patch size, one more position is added.
"""

from __future__ import annotations

import math

import numpy as np


def axis_positions(length: int, patch: int, stride: int) -> list[int]:
    if patch < 1 or stride < 1:
        raise ValueError("patch and stride must be positive")
    if length <= patch:
        return [0]
    span = length - patch
    count = max(1, math.floor(span / stride + 0.5))
    while True:
        starts = [k * stride for k in range(count) if k * stride < span] + [span]
        if all(b - a <= patch for a, b in zip(starts, starts[1:], strict=False)):
            return starts
        count += 1


def grid(height: int, width: int, patch: int, stride: int) -> list[tuple[int, int, int, int]]:
    """(row, col, y, x) of every patch, row-major."""
    ys = axis_positions(height, patch, stride)
    xs = axis_positions(width, patch, stride)
    return [(r, c, y, x) for r, y in enumerate(ys) for c, x in enumerate(xs)]


def pad_to(arr: np.ndarray, height: int, width: int) -> np.ndarray:
    """Zero-pad bottom/right so an image smaller than a patch still yields one full patch."""
    ph, pw = max(0, height - arr.shape[0]), max(0, width - arr.shape[1])
    if ph == 0 and pw == 0:
        return arr
    return np.pad(arr, ((0, ph), (0, pw)) + ((0, 0),) * (arr.ndim - 2))


def crop(arr: np.ndarray, y: int, x: int, patch: int) -> np.ndarray:
    return pad_to(arr[y : y + patch, x : x + patch], patch, patch)


def gaussian_weights(patch: int, sigma_scale: float = 0.125) -> np.ndarray:
    """nnU-Net-style importance map: centre pixels count more than borders when patches overlap."""
    centre = (patch - 1) / 2
    d = np.arange(patch) - centre
    g = np.exp(-(d**2) / (2 * (patch * sigma_scale) ** 2))
    w = np.outer(g, g).astype(np.float32)
    w /= w.max()
    return np.maximum(w, w[w > 0].min())  # never zero, so every pixel keeps a defined average


class Stitcher:
    """Accumulates weighted patch probabilities; the result is their weighted mean per pixel.
    `channels` 0: HxW patches and result; K: HxWxK (one channel per lesion)."""

    def __init__(self, height: int, width: int, patch: int, weights: np.ndarray | None = None, channels: int = 0):
        self.height, self.width, self.patch = height, width, patch
        ph, pw = max(height, patch), max(width, patch)
        self.sum = np.zeros((ph, pw, channels) if channels else (ph, pw), np.float32)
        self.count = np.zeros((ph, pw), np.float32)
        self.weights = np.ones((patch, patch), np.float32) if weights is None else weights.astype(np.float32)
        self.cell_weights = self.weights[..., None] if channels else self.weights

    def add(self, y: int, x: int, prob: np.ndarray) -> None:
        p = self.patch
        self.sum[y : y + p, x : x + p] += prob * self.cell_weights
        self.count[y : y + p, x : x + p] += self.weights

    def result(self) -> np.ndarray:
        if (self.count[: self.height, : self.width] == 0).any():
            raise RuntimeError("stitching left pixels uncovered; the grid is wrong")
        count = self.count[..., None] if self.sum.ndim == 3 else self.count
        return (self.sum / count)[: self.height, : self.width]
