"""Pictures for people: predictions drawn over the photograph."""

from __future__ import annotations

import numpy as np

TP, FP, FN = (0, 255, 0), (255, 0, 255), (0, 160, 255)  # green hit, magenta false alarm, blue miss
PRED = (0, 255, 255)


def _shrink(mask: np.ndarray, scale: int) -> np.ndarray:
    """Max-pool so a one-pixel lesion still shows after shrinking."""
    if scale == 1:
        return mask
    h, w = (mask.shape[0] // scale) * scale, (mask.shape[1] // scale) * scale
    return mask[:h, :w].reshape(h // scale, scale, w // scale, scale).any(axis=(1, 3))


def overlay(image: np.ndarray, layers: list[tuple[np.ndarray, tuple[int, int, int]]], scale: int = 1,
            alpha: float = 0.75) -> np.ndarray:
    h, w = (image.shape[0] // scale) * scale, (image.shape[1] // scale) * scale
    out = image[:h:scale, :w:scale].astype(np.float32) if scale > 1 else image.astype(np.float32).copy()
    for mask, colour in layers:
        m = _shrink(mask, scale)[: out.shape[0], : out.shape[1]]
        out[m] = (1 - alpha) * out[m] + alpha * np.array(colour, np.float32)
    return out.astype(np.uint8)


def error_overlay(image: np.ndarray, pred: np.ndarray, truth: np.ndarray, scale: int = 1) -> np.ndarray:
    return overlay(image, [(pred & truth, TP), (pred & ~truth, FP), (~pred & truth, FN)], scale)
