"""Light that falls off towards the rim (a vignette) undone, and only where it is far stronger than in the
training photographs.

Every fundus camera's light falls off towards the rim a little, and its photographs differ in how much;
a network learns that spread. A camera whose rim is much darker still (an older lens, a small pupil)
shows its rim's exudates at levels the network never saw. The correction measures a photograph's radial
profile (the brightest channel's median in RINGS rings of equal width, from the field of view's centre to
its rim, over the median inside INNER of the radius) and compares it with a floor stored with the model:
each ring's FLOOR_PERCENTILE-th percentile over the training photographs. The shortfall is the most any
ring falls below that floor, as a share of the floor. A photograph whose shortfall exceeds the stored gate
has each ring lifted to the floor by a gain that changes smoothly with the radius; every other photograph
is left exactly as it is. So a photograph of the training camera is predicted exactly as before, and where
every training photograph passes under the gate their own patches do not change either (only the photometric
versions of train.py that cross it are lifted).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .fov import fov_from_image
from .tone import MAX_GAIN, apply_gain

RINGS = 10
INNER = 0.5  # the reference level: the median inside this share of the radius
FLOOR_PERCENTILE = 10.0  # a floor, not a mean: a correction towards it lifts only rims darker than nearly all
GATE = 0.5  # shortfall above which a photograph is corrected (IDRiD's 43 development photographs reach 0.43)
SIDE = 512  # the profile is measured on a copy at most this long: the light it follows changes slowly


@dataclass(frozen=True)
class Profile:
    """A photograph's radial light profile and the geometry it was measured in (full-size pixels)."""

    levels: np.ndarray  # RINGS values, each ring's median over the inner median
    centre: tuple[float, float]  # (row, column)
    radius: float


def radial_profile(rgb: np.ndarray) -> Profile | None:
    """The profile of an HxWx3 uint8 photograph; None without a field of view. The radius is half the
    field of view's wider extent, since most cameras crop the disc at the top and bottom but not the sides."""
    shrink = min(1.0, SIDE / max(rgb.shape[:2]))
    small = cv2.resize(rgb, None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA) if shrink < 1 else rgb
    lit = fov_from_image(small, step=1)
    if lit.sum() < 100:
        return None
    brightest = small.max(axis=2)
    yy, xx = np.nonzero(lit)
    rows, cols = np.ptp(yy) + 1, np.ptp(xx) + 1
    cy, cx, radius = yy.mean(), xx.mean(), max(rows, cols) / 2
    r = np.hypot(yy - cy, xx - cx) / radius
    values = brightest[yy, xx].astype(np.float64)
    level = max(float(np.median(values[r < INNER])), 1.0) if (r < INNER).any() else 0.0
    rings = np.minimum((r * RINGS).astype(int), RINGS - 1)
    if not level or any(not (rings == k).any() for k in range(RINGS)):
        return None
    levels = np.array([np.median(values[rings == k]) for k in range(RINGS)]) / level
    return Profile(levels, (cy / shrink, cx / shrink), radius / shrink)


def floor_of(profiles: list[Profile | None]) -> tuple[float, ...]:
    """The stored floor: each ring's FLOOR_PERCENTILE-th percentile over the training photographs' profiles."""
    found = np.array([p.levels for p in profiles if p is not None])
    if not len(found):
        return ()
    return tuple(round(float(v), 4) for v in np.percentile(found, FLOOR_PERCENTILE, axis=0))


def shortfall(levels: np.ndarray, floor: tuple[float, ...]) -> float:
    """The most any ring falls below the floor, as a share of the floor (0: no ring below it)."""
    return float(np.max(np.clip(np.asarray(floor) / np.maximum(levels, 1e-3) - 1, 0, None)))


def lift(rgb: np.ndarray, floor: tuple[float, ...], gate: float = GATE) -> np.ndarray:
    """The photograph with each ring darker than the floor brought up to it (a gain of at most MAX_GAIN,
    interpolated between ring middles and held beyond them), when its shortfall exceeds `gate`; otherwise
    the photograph itself, unchanged."""
    profile = radial_profile(rgb)
    if profile is None or shortfall(profile.levels, floor) <= gate:
        return rgb
    gains = np.clip(np.asarray(floor) / np.maximum(profile.levels, 1e-3), 1.0, MAX_GAIN)
    middles = (np.arange(RINGS) + 0.5) / RINGS
    h, w = rgb.shape[:2]
    yy, xx = np.ogrid[:h, :w]
    r = np.hypot(yy - profile.centre[0], xx - profile.centre[1]) / profile.radius
    gain = np.interp(r, middles, gains).astype(np.float32)
    return apply_gain(rgb, gain[..., None])
