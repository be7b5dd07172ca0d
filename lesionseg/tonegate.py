"""Another camera's tone curve (a gamma above 1: mid-tones darkened, black and white kept) undone, and only
where the photograph is far outside what the training photographs showed.

Why the green-to-red balance measures it: a gamma g raises every level's share of white to the power g, so
the log ratio of two channels' field-of-view medians is multiplied by g, while a gain per channel (exposure,
a cast) only shifts it. In a fundus photograph green is always far below red (IDRiD: green's median about
half red's), so the ratio falls fast with g: a photograph whose log(G / R) is `gate` times the training
photographs' median or more (its estimated gamma over `gate`) is passed through the inverse curve, which
brings its balance back to that median. Every other photograph is left exactly as it is, so a photograph of
the training camera is predicted as before, and where every training photograph passes under the gate their
own patches do not change either. One-sided on purpose: a balance well above the median is what a cool
colour temperature or a green cast gives, which the colour gains undo already.
"""

from __future__ import annotations

import cv2
import numpy as np

from .fov import fov_from_image
from .tone import MAX_EXPONENT, channel_medians

GATE = 1.75  # estimated gamma above which a photograph is bent back (IDRiD's 43 development photographs reach 1.58)
SIDE = 512  # the balance is measured on a copy at most this long: two medians over the field of view
FLOOR = 1.0  # levels: a channel median below this counts as this (a log needs it positive)


def balance(rgb: np.ndarray) -> float | None:
    """log(green's median / red's median) over the field of view of an HxWx3 uint8 photograph; None
    without a field of view or where red is not the brighter channel (nothing to measure a bend on)."""
    shrink = min(1.0, SIDE / max(rgb.shape[:2]))
    small = cv2.resize(rgb, None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA) if shrink < 1 else rgb
    lit = fov_from_image(small, step=1)
    if lit.sum() < 100:
        return None
    medians = np.maximum(channel_medians(small, lit), FLOOR)
    ratio = float(np.log(medians[1] / medians[0]))
    return ratio if ratio < 0 else None


def reference_of(balances: list[float | None]) -> float:
    """The stored reference: the training photographs' median balance (0.0: none measured)."""
    found = [b for b in balances if b is not None]
    return round(float(np.median(found)), 4) if found else 0.0


def estimated_gamma(value: float | None, reference: float) -> float:
    """How many times the reference's log ratio the photograph's is (1.0 when either is unmeasured)."""
    return value / reference if value is not None and reference < 0 else 1.0


def unbend(rgb: np.ndarray, reference: float, gate: float = GATE) -> np.ndarray:
    """The photograph through the inverse power curve of its estimated gamma (at most MAX_EXPONENT) when that
    gamma exceeds `gate`; otherwise the photograph itself, unchanged."""
    g = estimated_gamma(balance(rgb), reference)
    if g <= gate:
        return rgb
    table = 255 * (np.arange(256) / 255.0) ** (1 / min(g, MAX_EXPONENT))
    return cv2.LUT(np.ascontiguousarray(rgb), np.clip(table, 0, 255).round().astype(np.uint8))
