"""What another camera does to a fundus photograph, as seeded functions of the photograph: darker
and with another gamma, another colour temperature or cast, light falling off towards the rim,
defocus, heavy JPEG, a lower resolution. Each takes an HxWx3 uint8 photograph, a strength and a
seed (which draws what is random: the sign of a colour shift, the centre of a vignette) and
returns a new uint8 photograph of the same size. Used by bench/corruptions.py to measure how far a
model's AUPR falls; nothing here is chosen on any test set.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from .tone import apply_gain

REFERENCE_WIDTH = 4288  # blur widths are given for a photograph this wide and scaled to the actual one


def darken(rgb: np.ndarray, factor: float, seed: int = 0) -> np.ndarray:
    """Every pixel times `factor` (0.5: half as bright, as an underexposed camera)."""
    return apply_gain(rgb, np.float32(factor))


def gamma(rgb: np.ndarray, g: float, seed: int = 0) -> np.ndarray:
    """(x / 255) ** g: with g > 1 the mid-tones darken while black and white stay."""
    table = np.clip(255 * (np.arange(256) / 255.0) ** g, 0, 255).round().astype(np.uint8)
    return cv2.LUT(np.ascontiguousarray(rgb), table)


def temperature(rgb: np.ndarray, shift: float, seed: int = 0) -> np.ndarray:
    """Warmer or cooler (the sign drawn from the seed): red times 1 + s and blue times 1 - s."""
    s = shift * (1 if np.random.default_rng(seed).random() < 0.5 else -1)
    return apply_gain(rgb, np.array([1 + s, 1.0, 1 - s], np.float32))


def cast(rgb: np.ndarray, strength: float, seed: int = 0) -> np.ndarray:
    """A green or magenta cast (the sign drawn from the seed): green times 1 + c, red and blue 1 - c / 2."""
    c = strength * (1 if np.random.default_rng(seed).random() < 0.5 else -1)
    return apply_gain(rgb, np.array([1 - c / 2, 1 + c, 1 - c / 2], np.float32))


def vignette(rgb: np.ndarray, strength: float, seed: int = 0) -> np.ndarray:
    """Light falling off as the square of the distance from a centre near the middle (drawn from the
    seed, within 5% of the size): times 1 - strength at the rim of the field of view."""
    from .fov import fov_diameter

    h, w = rgb.shape[:2]
    rng = np.random.default_rng(seed)
    cy, cx = h / 2 * (1 + rng.uniform(-0.05, 0.05)), w / 2 * (1 + rng.uniform(-0.05, 0.05))
    radius = (fov_diameter(rgb) or min(h, w)) / 2
    yy, xx = np.ogrid[:h, :w]
    r2 = ((yy - cy) ** 2 + (xx - cx) ** 2) / radius**2
    return apply_gain(rgb, np.clip(1 - strength * r2, 0, 1).astype(np.float32)[..., None])


def blur(rgb: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    """Gaussian defocus of `sigma` px on a 4288 px wide photograph (scaled to this one's width)."""
    s = sigma * rgb.shape[1] / REFERENCE_WIDTH
    return cv2.GaussianBlur(np.ascontiguousarray(rgb), (0, 0), s)


def jpeg(rgb: np.ndarray, quality: float, seed: int = 0) -> np.ndarray:
    """Saved as JPEG at `quality` and decoded again."""
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    return cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def low_resolution(rgb: np.ndarray, width: float, seed: int = 0) -> np.ndarray:
    """As a camera `width` px wide would have taken it (area filter), enlarged back to this size."""
    h, w = rgb.shape[:2]
    small = cv2.resize(rgb, (int(width), max(1, round(h * width / w))), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


CORRUPTIONS: dict[str, tuple[Callable[..., np.ndarray], tuple[float, ...]]] = {  # name -> (function, strengths)
    "darken": (darken, (0.6, 0.4)),
    "gamma": (gamma, (1.5, 2.2)),
    "temperature": (temperature, (0.15, 0.3)),
    "cast": (cast, (0.15, 0.3)),
    "vignette": (vignette, (0.4, 0.7)),
    "blur": (blur, (2.0, 4.0)),
    "jpeg": (jpeg, (30, 10)),
    "low_resolution": (low_resolution, (1500, 1000)),
}


def corrupt(rgb: np.ndarray, name: str, strength: float, seed: int = 0) -> np.ndarray:
    return CORRUPTIONS[name][0](rgb, strength, seed)
