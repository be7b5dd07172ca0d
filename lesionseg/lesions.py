"""Lesion-level FROC from connected components (8-connectivity).

A ground-truth lesion is detected when predicted pixels cover at least `overlap` of its area; a
predicted component is a false positive when less than `overlap` of its area is lesion.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

EIGHT = np.ones((3, 3), bool)
THRESHOLDS = tuple(np.round(np.linspace(0.05, 0.95, 19), 2))


def _covered_fraction(labels: np.ndarray, n: int, other: np.ndarray) -> np.ndarray:
    if n == 0:
        return np.zeros(0)
    idx = np.arange(1, n + 1)
    return ndimage.sum_labels(other, labels, idx) / ndimage.sum_labels(np.ones_like(other), labels, idx)


class LesionCounts:
    def __init__(self, thresholds: tuple[float, ...] = THRESHOLDS, overlap: float = 0.2):
        self.thresholds, self.overlap = np.asarray(thresholds), overlap
        self.detected = np.zeros(len(thresholds), np.int64)
        self.false_pos = np.zeros(len(thresholds), np.int64)
        self.lesions = 0
        self.images = 0

    def add(self, prob: np.ndarray, truth: np.ndarray, region: np.ndarray | None = None) -> None:
        truth = truth.astype(bool)
        t_labels, t_n = ndimage.label(truth, EIGHT)
        self.lesions += t_n
        self.images += 1
        for k, thr in enumerate(self.thresholds):
            pred = prob >= thr
            if region is not None:
                pred &= region
            self.detected[k] += int((_covered_fraction(t_labels, t_n, pred) >= self.overlap).sum())
            p_labels, p_n = ndimage.label(pred, EIGHT)
            self.false_pos[k] += int((_covered_fraction(p_labels, p_n, truth) < self.overlap).sum())

    def curve(self) -> dict[str, list[float]]:
        sens = self.detected / self.lesions if self.lesions else np.full(len(self.thresholds), np.nan)
        return {"threshold": self.thresholds.tolist(), "sensitivity": np.asarray(sens).tolist(),
                "fp_per_image": (self.false_pos / max(self.images, 1)).tolist()}
