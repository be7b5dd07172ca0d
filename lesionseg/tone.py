"""A photograph's light and colour brought to the training photographs', before the preparation: one
gain for the light level, a gain per channel for the colour, or a tone curve per channel.

Why a curve: a gain undoes what scales a channel (exposure, colour temperature, a cast), but another
camera's tone response (its gamma) bends the mid-tones while black and white stay, and no gain
undoes that. A power curve out = a * in ** g through two points per channel (its field-of-view median
and an upper quantile, each brought to the stored one) undoes a gain and a gamma alike, and the two
together: a quantile goes through any rising curve unchanged, so a camera's curve of this family
is measured exactly on the photograph itself.
"""

from __future__ import annotations

import cv2
import numpy as np

from .fov import fov_from_image

MAX_GAIN = 4.0  # a normalisation brightens or darkens a photograph at most this many times
UPPER_QUANTILE = 0.9  # the tone curve's second point: above most of the retina, below the optic disc and
# the saturated red of a bright photograph
MAX_EXPONENT = 3.0  # the curve's exponent stays within [1 / 3, 3]: beyond the benchmark's gamma 2.2 either way
LOCAL_SIDE = 256  # the local gains are measured on a copy at most this long: the light they follow changes
# slowly, and OpenCV's 8-bit median filter takes any window that fits it
INPAINT_RADIUS = 5  # px of the copy that the inpainting looks back from the rim
MIN_RANGE = 8.0  # levels between a channel's median and its upper quantile below which its curve is not
# measured (IDRiD's blue: a few levels) and the channel gets a gain only


def apply_gain(rgb: np.ndarray, gains: np.ndarray | float) -> np.ndarray:
    """A uint8 photograph times a gain (one, per channel, or per pixel), rounded and clipped to 0..255."""
    return np.clip(rgb.astype(np.float32) * np.asarray(gains, np.float32), 0, 255).round().astype(np.uint8)


def normalise_level(rgb: np.ndarray, level: float) -> np.ndarray:
    """The photograph times one gain (at most 4x either way) that makes its field of view's median
    brightness (largest channel, which a gain scales exactly) `level`: an under- or overexposed
    camera's photograph is brought to the light level the network learned at; colour ratios kept."""
    lit = fov_from_image(rgb)
    if not lit.any():
        return rgb
    gain = np.float32(level / max(float(np.median(rgb.max(axis=2)[lit])), 1.0))
    return apply_gain(rgb, np.clip(gain, 1 / MAX_GAIN, MAX_GAIN))


def channel_quantiles(rgb: np.ndarray, quantile: float | list[float] = 0.5,
                      lit: np.ndarray | None = None) -> np.ndarray | None:
    """R, G, B quantiles inside the field of view (3, or Qx3 for Q quantiles; None without one): what the
    colour targets are. `lit`: the field of view when the caller found it already."""
    lit = fov_from_image(rgb) if lit is None else lit
    return np.quantile(rgb[lit], quantile, axis=0).astype(np.float64) if lit.any() else None


def channel_medians(rgb: np.ndarray, lit: np.ndarray | None = None) -> np.ndarray | None:
    """R, G, B medians inside the field of view (None without one): what `colour` normalises."""
    return channel_quantiles(rgb, 0.5, lit)


def colour_gains(medians: np.ndarray, colour: tuple[float, ...], spread: float = 0.0) -> np.ndarray:
    """Each channel's gain (at most 4x either way) that makes its median `colour`'s. `spread` (>= 1)
    keeps each gain within that many times the best-lit channel's: a channel whose median is a few
    levels (IDRiD's blue: 0 to 71) measures its gain badly, and a large one multiplies its noise and a
    compressed photograph's chroma blocks."""
    target = np.asarray(colour, np.float64)
    gains = np.clip(target / np.maximum(medians, 1.0), 1 / MAX_GAIN, MAX_GAIN)
    if spread:
        lead = gains[int(np.argmax(target))]
        gains = np.clip(gains, lead / spread, lead * spread)
    return gains


def normalise_colour(rgb: np.ndarray, colour: tuple[float, ...], spread: float = 0.0) -> np.ndarray:
    """Each channel times its own gain that makes its field-of-view median `colour`'s: a darker
    camera, another colour temperature or a cast are brought to the training photographs' light and
    balance, where `level` keeps a cast (and a green cast even darkens)."""
    medians = channel_medians(rgb)
    return rgb if medians is None else apply_gain(rgb, colour_gains(medians, colour, spread))


def local_backgrounds(rgb: np.ndarray, lit: np.ndarray, window_share: float, side: int = LOCAL_SIDE) -> np.ndarray:
    """Each channel's broad background (float32 HxWx3): its median over a window `window_share` of the
    longer side, measured on a copy at most `side` long and enlarged back. The dark surround (outside
    `lit`, the field of view) is first painted over from the rim inwards (OpenCV's inpainting), so a
    window that reaches past the field of view sees the rim's own light, not black and not the brighter
    centre."""
    height, width = rgb.shape[:2]
    shrink = min(1.0, side / max(height, width))
    size = (max(1, round(width * shrink)), max(1, round(height * shrink)))
    small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    inside = cv2.resize(lit.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST)
    inside = cv2.erode(inside, np.ones((3, 3), np.uint8))  # the edge's half-lit pixels painted over too
    if inside.any() and not inside.all():
        small = cv2.inpaint(small, 1 - inside, INPAINT_RADIUS, cv2.INPAINT_TELEA)
    window = max(3, round(window_share * max(small.shape[:2]))) | 1  # odd, as the median filter needs
    background = cv2.medianBlur(small, window)
    return cv2.resize(background, (width, height), interpolation=cv2.INTER_LINEAR).astype(np.float32)


def normalise_colour_local(rgb: np.ndarray, colour: tuple[float, ...], window_share: float,
                           side: int = LOCAL_SIDE) -> np.ndarray:
    """Each channel times a gain that changes slowly across the photograph: its one gain of
    `normalise_colour`, times its field-of-view median over its own broad background there (each of
    the two at most 4x either way). What one gain per channel does for a darker camera or a cast, this
    does for light that falls off towards the rim or lights one side more: a vignette, an uneven flash.
    Capping the two apart keeps a darkened photograph's dim rim as far above its centre as the clean
    one's, where one cap on their product flattened only the half that needed less. Anything narrower
    than the window (exudates, vessels, the optic disc within a window four times its width) keeps its
    contrast with its surround."""
    lit = fov_from_image(rgb)
    medians = channel_medians(rgb, lit)
    if medians is None:
        return rgb
    background = local_backgrounds(rgb, lit, window_share, side)
    relative = np.clip(medians.astype(np.float32) / np.maximum(background, 1.0), 1 / MAX_GAIN, MAX_GAIN)
    return apply_gain(rgb, colour_gains(medians, colour).astype(np.float32) * relative)


def curve_table(median: float, upper: float, to_median: float, to_upper: float,
                bend: float = MAX_EXPONENT) -> np.ndarray:
    """The 256-level table of the power curve that takes `median` to `to_median` and `upper` to
    `to_upper`, its exponent held within [1 / bend, bend]; a gain (exponent 1) where the two points
    are too close to measure a bend."""
    levels = np.arange(256, dtype=np.float64)
    median = max(median, 1.0)
    if upper - median < MIN_RANGE or to_upper <= to_median:
        return apply_gain(levels, colour_gains(np.array([median]), (to_median,)))
    exponent = np.log(to_upper / to_median) / np.log(upper / median)
    exponent = float(np.clip(exponent, 1 / bend, bend))
    return np.clip(to_median * (levels / median) ** exponent, 0, 255).round().astype(np.uint8)


def normalise_tone(rgb: np.ndarray, colour: tuple[float, ...], upper: tuple[float, ...],
                   quantile: float = UPPER_QUANTILE, bend: float = MAX_EXPONENT) -> np.ndarray:
    """Each channel through its own power curve that takes its field-of-view median to `colour`'s and
    its `quantile` to `upper`'s: gains, casts and another camera's gamma undone at once. `bend` near 1
    keeps the curve close to a gain: the photographs of one camera differ in their own spread of
    levels too (IDRiD's exponents run 0.4 to 1.2), which a full curve would flatten away."""
    points = channel_quantiles(rgb, [0.5, quantile])
    if points is None:
        return rgb
    out = np.empty_like(rgb)
    for c in range(3):
        table = curve_table(points[0, c], points[1, c], colour[c], upper[c], bend)
        out[..., c] = cv2.LUT(np.ascontiguousarray(rgb[..., c]), table)
    return out
