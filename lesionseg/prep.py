"""What happens to a photograph before the network sees it: the working scale and the optional
contrast equalisation (and which lesions the masks carry). One function for training, evaluation and
inference, and one small settings object stored beside the patches and beside the model, so no stage
can silently use another.

Scale: by the rule `factor` (the paper's, and every model made before the rule existed) a photograph
is resampled by `scale` times its own size; by the rule `fov` it is resampled so that its field of
view is `fov_diameter` pixels across, whatever the camera's resolution, so a lesion is as many pixels
wide as in the training photographs. Images are resampled with an area filter (each output pixel
the mean of the source pixels it covers); masks mark lesion where at least `mask_share` of the
covered source pixels are lesion (0.5 keeps the lesion area unbiased). Predictions made at the
working scale are resampled bilinearly back to the original size, so every figure is still computed
against the original masks.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import cv2
import numpy as np

from .deblock import SIGMA as DEBLOCK_SIGMA
from .deblock import deblock
from .errors import PipelineError, warn
from .fov import fov_diameter, fov_from_image
from .tone import (
    MAX_EXPONENT,
    UPPER_QUANTILE,
    normalise_colour,
    normalise_colour_local,
    normalise_level,
    normalise_tone,
)
from .vignette import GATE as VIGNETTE_GATE
from .vignette import RINGS as VIGNETTE_RINGS
from .vignette import lift as lift_vignette

PREP_FILE = "prep.json"
CLAHE_CLIP = 2.0
CLAHE_TILES = 8  # tiles per side, whatever the image size, so the result does not depend on the scale
FLAT_WINDOW = 0.1  # green_flat's background window, as a share of the longer side: wider than any
# vessel (DRIVE's widest is 20 px of 584), narrow enough to follow an atrophic zone or a bright disc
BACKGROUND_SIDE = 1024  # the background is estimated on a copy at most this long: fast, and within the
# median filter's window limit (OpenCV's 8-bit filter can refuse windows wider than 255 px)
NEUTRAL = 128  # the flattened image's background level, and its value outside the field of view
SCALE_RULES = ("factor", "fov")


def _typed(name: str, default, value):
    """A stored or typed value as the field's type: a tuple from a JSON list or from "a,b,c"."""
    if not isinstance(default, tuple):
        return type(default)(value)
    items = [v for v in value.split(",") if v] if isinstance(value, str) else list(value)
    return tuple(float(v) for v in items) if name in ("colour", "colour_upper", "vignette") else tuple(items)


@dataclass(frozen=True)
class Prep:
    scale: float = 1.0  # working scale: 0.5 halves both sides
    mask_share: float = 0.5  # share of covered source pixels that must be lesion (scale < 1)
    preprocess: str = "none"  # none (the paper) | clahe | green_clahe | green_flat
    lesions: tuple[str, ...] = ()  # several lesions (bit-packed masks, one output each), in order; () one
    scale_by: str = "factor"  # factor: `scale` times the photograph's size | fov: its field of view made
    # fov_diameter px wide (then `scale` is the fallback where no field of view is found)
    fov_diameter: float = 0.0  # fov rule: field-of-view diameter at the working scale, in pixels
    # the preprocessing's parameters, stored with a model so that changing a default cannot change it
    clahe_clip: float = CLAHE_CLIP
    clahe_tiles: int = CLAHE_TILES
    flat_window: float = FLAT_WINDOW
    background_side: int = BACKGROUND_SIDE
    level: float = 0.0  # > 0: the photograph brightened or darkened so that its field of view's median
    # brightness (the largest of R, G, B, 0 to 255) is this, before the preprocessing; 0: kept as it is
    colour: tuple[float, ...] = ()  # (R, G, B): each channel times its own gain so that its field of view's
    # median is this, before the preprocessing (light level and colour cast at once); (): kept as it is
    colour_spread: float = 0.0  # >= 1: each channel's gain at most this many times the gain of the channel with
    # the largest stored median, either way (a nearly empty blue channel is not multiplied up with its
    # noise); 0: each channel's own gain
    colour_upper: tuple[float, ...] = ()  # (R, G, B) with colour: each channel through a power curve that also
    # brings its field of view's `colour_quantile` to this (another camera's gamma undone; lesionseg.tone)
    colour_quantile: float = UPPER_QUANTILE
    colour_local: float = 0.0  # > 0 with colour: the gains measured locally, on each channel's median over a
    # window this share of the longer side (lesionseg.tone.normalise_colour_local: vignettes, uneven light);
    # 0: one gain per channel
    colour_bend: float = MAX_EXPONENT  # with colour_upper: the curve's exponent within [1 / bend, bend]
    deblock: float = 0.0  # > 0: a photograph whose JPEG block grid is at least this strong (lesionseg.deblock)
    # is first smoothed by deblock_sigma px of its own; 0: never
    deblock_sigma: float = DEBLOCK_SIGMA
    vignette: tuple[float, ...] = ()  # the training photographs' radial light floor (lesionseg.vignette): a
    # photograph whose rim falls more than vignette_gate below it is lifted to it first; (): never
    vignette_gate: float = VIGNETTE_GATE

    def __post_init__(self):
        if not 0 < self.scale <= 4:
            raise PipelineError(f"scale must be in (0, 4], got {self.scale}")
        if not 0 < self.mask_share <= 1:
            raise PipelineError(f"mask share must be in (0, 1], got {self.mask_share}")
        if self.preprocess not in PREPROCESS_CHOICES:
            choices = ", ".join(PREPROCESS_CHOICES)
            raise PipelineError(f"unknown preprocessing {self.preprocess!r}; use one of {choices}")
        if self.scale_by not in SCALE_RULES:
            raise PipelineError(f"unknown scale rule {self.scale_by!r}; use one of {', '.join(SCALE_RULES)}")
        if self.scale_by == "fov" and not self.fov_diameter > 0:
            raise PipelineError("the fov scale rule needs a positive field-of-view diameter")
        if self.colour and (len(self.colour) != 3 or min(self.colour) <= 0 or self.level > 0):
            raise PipelineError(f"colour needs three positive channel medians (R, G, B) and no level, got "
                                f"{self.colour} with level {self.level}")
        if self.colour_spread and (self.colour_spread < 1 or not self.colour):
            raise PipelineError(f"colour spread must be 0 or at least 1, and needs colour; got {self.colour_spread} "
                                f"with colour {self.colour}")
        if self.colour_upper and (not self.colour or self.colour_spread or len(self.colour_upper) != 3
                                  or any(u <= c for u, c in zip(self.colour_upper, self.colour, strict=True))
                                  or not 0.5 < self.colour_quantile < 1 or not 1 <= self.colour_bend <= MAX_EXPONENT):
            raise PipelineError(f"colour upper needs three levels (R, G, B) above the colour medians {self.colour}, no "
                                f"colour spread, a quantile in (0.5, 1) and a bend in [1, {MAX_EXPONENT:g}]; got "
                                f"{self.colour_upper}, spread {self.colour_spread}, quantile {self.colour_quantile}, "
                                f"bend {self.colour_bend}")
        if self.colour_local and (not self.colour or self.colour_spread or self.colour_upper
                                  or not 0 < self.colour_local <= 1):
            raise PipelineError(f"colour local needs colour (without spread or upper) and a window share in (0, 1]; "
                                f"got {self.colour_local} with colour {self.colour}, spread {self.colour_spread}, "
                                f"upper {self.colour_upper}")
        if self.colour_bend != MAX_EXPONENT and not self.colour_upper:
            raise PipelineError(f"colour bend {self.colour_bend} needs colour upper (the tone curve it limits)")
        if self.deblock < 0 or not self.deblock_sigma > 0 or 0 < self.deblock < 1:
            raise PipelineError(f"deblock must be 0 (off) or a gate of at least 1 (a photograph without a block grid "
                                f"scores 1), and its sigma positive; got {self.deblock} and {self.deblock_sigma}")
        if self.vignette and (len(self.vignette) != VIGNETTE_RINGS or min(self.vignette) <= 0) \
                or not self.vignette_gate > 0:
            raise PipelineError(f"vignette needs {VIGNETTE_RINGS} positive ring levels (a floor measured by "
                                f"extract_patches.py --vignette auto) and a positive gate; got {self.vignette} and "
                                f"{self.vignette_gate}")

    @property
    def channels(self) -> int:
        """Model outputs: one per lesion."""
        return max(1, len(self.lesions))

    def factor(self, rgb: np.ndarray | None = None, name: str = "", diameter: float | None = None) -> float:
        """The resampling factor for a photograph (HxWx3): `scale`, or by the fov rule the one that
        makes its field of view `fov_diameter` wide. `diameter` is the photograph's when it was
        measured already (None with no rgb: it has no field of view)."""
        if self.scale_by == "factor":
            return self.scale
        if diameter is None and rgb is not None:
            diameter = fov_diameter(rgb)
        if not diameter:
            warn(f"{name or 'a photograph'}: no round field of view found; resampled by the model's factor "
                 f"{self.scale} instead")
            return self.scale
        return min(4.0, self.fov_diameter / diameter)

    def as_dict(self, full: bool = False) -> dict:
        """The settings as stored. `full` (a model's bundle): every parameter. Otherwise (the
        workspace's prep.json) those at their defaults are left out, so a single-lesion factor-rule
        record stays as it always was."""
        settings = asdict(self)
        if not self.lesions:
            del settings["lesions"]
        if not full:
            default = Prep()
            for name in ("scale_by", "fov_diameter", "clahe_clip", "clahe_tiles", "flat_window", "background_side",
                         "level", "colour", "colour_spread", "colour_upper", "colour_quantile", "colour_bend",
                         "colour_local", "deblock", "deblock_sigma", "vignette", "vignette_gate"):
                if settings[name] == getattr(default, name):
                    del settings[name]
        return settings

    @classmethod
    def from_dict(cls, raw: dict) -> Prep:
        """From a stored record; what it lacks takes the default (a record made before it existed)."""
        default = cls()
        return cls(**{f.name: _typed(f.name, getattr(default, f.name), raw[f.name]) for f in fields(cls)
                      if f.name in raw})

    def write(self, path: Path) -> None:
        from .imageio import atomic_path

        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps(self.as_dict(), indent=2, sort_keys=True))

    @classmethod
    def read(cls, path: Path, missing_ok: bool = True) -> Prep:
        """The stored settings; a folder made before they existed means the paper's (scale 1, none)."""
        if not path.is_file():
            if missing_ok:
                return cls()
            raise PipelineError(f"{path}: not found; run extract_patches.py again")
        try:
            return cls.from_dict(json.loads(path.read_text()))
        except (json.JSONDecodeError, TypeError, ValueError) as exc:
            raise PipelineError(f"{path}: unreadable settings ({exc}); run the stage that wrote it again") from None


def _equalise(channel: np.ndarray, clip: float = CLAHE_CLIP, tiles: int = CLAHE_TILES) -> np.ndarray:
    return cv2.createCLAHE(clip, (tiles, tiles)).apply(np.ascontiguousarray(channel))


def clahe(rgb: np.ndarray, clip: float = CLAHE_CLIP, tiles: int = CLAHE_TILES) -> np.ndarray:
    """Contrast-limited adaptive equalisation of the lightness channel (CIELAB); colour kept."""
    lab = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2LAB)
    lab[..., 0] = _equalise(lab[..., 0], clip, tiles)
    return cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)


def green_clahe(rgb: np.ndarray, clip: float = CLAHE_CLIP, tiles: int = CLAHE_TILES) -> np.ndarray:
    """The green channel equalised, in all three channels: vessels and red lesions have their
    strongest contrast in green, and red is often saturated; the network keeps its 3 inputs."""
    return np.repeat(_equalise(rgb[..., 1], clip, tiles)[..., None], 3, axis=2)


def green_flat(rgb: np.ndarray, window_share: float = FLAT_WINDOW, side: int = BACKGROUND_SIDE,
               clip: float = CLAHE_CLIP, tiles: int = CLAHE_TILES) -> np.ndarray:
    """The green channel less its broad background (a median over FLAT_WINDOW of the image), then
    equalised, in all three channels. Why: after CLAHE alone an unevenly lit or tessellated fundus
    can stay far more textured than a typical one, so its vessels stand out less from the background;
    subtracting the background first keeps every structure narrower than the window (vessels, small
    lesions) and removes slow changes of brightness. Outside the field of view the image is flat
    (NEUTRAL, before equalisation), and the background there is filled with the retina's median
    first, so the edge of the disc makes no ring."""
    lit = fov_from_image(rgb, step=1)  # full size: a coarse mask would leave a stepped edge
    if not lit.any():  # a dark photograph: no surround to tell apart, so keep it all
        lit[:] = True
    green = np.where(lit, rgb[..., 1], np.uint8(np.median(rgb[..., 1][lit])))  # a contiguous copy
    height, width = green.shape
    shrink = min(1.0, side / max(height, width))
    small = _resize(green, round(height * shrink), round(width * shrink), shrink=True) if shrink < 1 else green
    window = max(3, round(window_share * max(small.shape))) | 1  # odd, as the median filter needs
    background = cv2.medianBlur(small, window)
    if shrink < 1:
        background = _resize(background, height, width, shrink=False)
    flat = np.clip(green.astype(np.int16) - background + NEUTRAL, 0, 255).astype(np.uint8)
    flat[~lit] = NEUTRAL
    return np.repeat(_equalise(flat, clip, tiles)[..., None], 3, axis=2)


PREPROCESSORS = {  # name -> f(photograph, its Prep)
    "none": lambda rgb, p: rgb,
    "clahe": lambda rgb, p: clahe(rgb, p.clahe_clip, p.clahe_tiles),
    "green_clahe": lambda rgb, p: green_clahe(rgb, p.clahe_clip, p.clahe_tiles),
    "green_flat": lambda rgb, p: green_flat(rgb, p.flat_window, p.background_side, p.clahe_clip, p.clahe_tiles),
}
PREPROCESS_CHOICES = tuple(PREPROCESSORS)


def _resize(arr: np.ndarray, height: int, width: int, shrink: bool) -> np.ndarray:
    return cv2.resize(arr, (width, height), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def scaled_size(height: int, width: int, factor: float) -> tuple[int, int]:
    return max(1, round(height * factor)), max(1, round(width * factor))


def resample_image(rgb: np.ndarray, factor: float) -> np.ndarray:
    """An image scaled by `factor`: shrunk by area, enlarged (a low-resolution camera, a test-time
    scale) bicubically, since bilinear blurs small lesions away."""
    height, width = scaled_size(*rgb.shape[:2], factor)
    return cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA if factor < 1 else cv2.INTER_CUBIC)


def prepare_image(rgb: np.ndarray, prep: Prep, factor: float | None = None) -> np.ndarray:
    """HxWx3 uint8 photograph -> the network's input (uint8) at the working scale; `factor` is the
    photograph's (Prep.factor), measured here when not given. A heavily compressed photograph is
    smoothed first (Prep.deblock), at its own resolution, where its block grid is."""
    rgb = deblock(rgb, prep.deblock, prep.deblock_sigma)
    factor = prep.factor(rgb) if factor is None else factor
    if factor != 1:
        rgb = resample_image(rgb, factor)
    if prep.vignette:  # before the colour: a dark rim would pull the field of view's medians down
        rgb = lift_vignette(rgb, prep.vignette, prep.vignette_gate)
    if prep.level > 0:
        rgb = normalise_level(rgb, prep.level)
    if prep.colour_upper:
        rgb = normalise_tone(rgb, prep.colour, prep.colour_upper, prep.colour_quantile, prep.colour_bend)
    elif prep.colour_local:
        rgb = normalise_colour_local(rgb, prep.colour, prep.colour_local)
    elif prep.colour:
        rgb = normalise_colour(rgb, prep.colour, prep.colour_spread)
    return PREPROCESSORS[prep.preprocess](rgb, prep)


def prepare_mask(mask: np.ndarray, prep: Prep, factor: float | None = None) -> np.ndarray:
    """Bool HxW lesion mask -> bool mask at the working scale; `factor` is its photograph's (by the
    fov rule it cannot be measured on the mask, so it must be given)."""
    if factor is None:
        if prep.scale_by != "factor":
            raise ValueError("by the fov rule a mask's factor is its photograph's: pass it")
        factor = prep.scale
    if factor == 1:
        return mask.astype(bool)
    share = _resize(mask.astype(np.float32), *scaled_size(*mask.shape, factor), shrink=factor < 1)
    return share >= prep.mask_share - 1e-6


def to_original(prob: np.ndarray, height: int, width: int) -> np.ndarray:
    """Probabilities (HxW or HxWxK) at the working scale -> the original size (bilinear), float32 in
    [0, 1]; channel by channel, since OpenCV drops a single trailing channel and caps their number."""
    if prob.shape[:2] == (height, width):
        return prob
    if prob.ndim == 3:
        return np.stack([to_original(prob[..., k], height, width) for k in range(prob.shape[2])], axis=-1)
    return np.clip(_resize(prob.astype(np.float32), height, width, shrink=False), 0.0, 1.0)
