"""One photograph's outputs in infer.py: the probability maps, masks and overlay it writes and its
row of areas.csv, in three steps that lesionseg.batch.pipelined overlaps (read, compute, write), so
bench/bench_infer.py times exactly what infer.py runs.

A model of one lesion writes <stem>_prob.png, <stem>_mask.png and <stem>_overlay.png; a model of
several writes <stem>_<CODE>_prob.png and <stem>_<CODE>_mask.png per lesion and one overlay with a
colour per lesion and a legend.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import warn
from .fov import measure
from .imageio import read_rgb, save_png, save_probability
from .multi import colour
from .overlay import PRED, legend, overlay
from .predictor import Predictor
from .prep import to_original

Loaded = tuple[np.ndarray, np.ndarray, int]  # the photograph, the network's input, its field of view in pixels


@dataclass(frozen=True)
class Segmenter:
    predictor: Predictor
    thresholds: list[float]  # one per output
    out: Path
    overlay_scale: int = 2

    @classmethod
    def load(cls, folder: Path, out: Path, threshold: float | None = None, typed: dict[str, Any] | None = None,
             engine: str = "auto", overlay_scale: int = 2) -> Segmenter:
        """The model of `folder` with each lesion's stored threshold (or `threshold` for all), predicting
        with its stored inference settings but for those `typed`; warns where the figures may not hold."""
        typed = typed or {}
        predictor = Predictor.load(folder, typed, thresholds_optional=threshold is not None, engine=engine)
        bundle = predictor.bundle
        if threshold is not None:
            return cls(predictor, [threshold] * len(bundle.lesions), out, overlay_scale)
        if not bundle.evaluated:
            warn(f"{folder}: no threshold was chosen for this model (run evaluate.py to choose one on "
                 "validation images); using 0.5")
        overridden = sorted(k for k, v in typed.items() if getattr(bundle.inference, k) != v)
        if overridden and bundle.evaluated:
            which = "thresholds were" if len(bundle.lesions) > 1 else "threshold was"
            warn(f"the {which} chosen under other settings ({', '.join(overridden)}); its figures may not hold")
        return cls(predictor, bundle.threshold_values(), out, overlay_scale)

    def read(self, path: Path) -> Loaded:
        """Decode and prepare (PipelineError for an unreadable file)."""
        return self.prepare(path, read_rgb(path))

    def prepare(self, path: Path, image: np.ndarray) -> Loaded:
        """The network's input and the field of view's area, from one look at the field of view."""
        fov, diameter = measure(image)
        return image, self.predictor.prepare(image, str(path), diameter), int(fov.sum())

    def compute(self, path: Path, loaded: Loaded) -> np.ndarray:
        """Probabilities at the working scale: the network, flips included."""
        return self.predictor.predict_prepared(loaded[1])

    def write(self, path: Path, loaded: Loaded, prob: np.ndarray) -> dict:
        """Resample to the photograph's size, write its files, and return its areas.csv row."""
        prob = to_original(prob, *loaded[0].shape[:2])
        return {"image": str(path), "stem": path.stem} | self.save(loaded, prob, path.stem)

    def save(self, loaded: Loaded, prob: np.ndarray, stem: str) -> dict:
        """Write one photograph's maps, masks and overlay (`prob` at its size); return its areas figures."""
        image, _, area = loaded
        lesions, thresholds, out = self.predictor.prep.lesions, self.thresholds, self.out
        if not lesions:  # one lesion: the files and areas.csv columns it always had
            pred = prob[..., 0] >= thresholds[0]
            _save_maps(prob[..., 0], pred, out / stem)
            save_png(overlay(image, [(pred, PRED)], self.overlay_scale), out / f"{stem}_overlay.png")
            return {"threshold": thresholds[0], "lesion_pixels": int(pred.sum()), "fov_pixels": area,
                    "lesion_percent_of_fov": _percent(int(pred.sum()), area)}
        row: dict = {"fov_pixels": area}
        layers, key = [], [(code, colour(code, k)) for k, code in enumerate(lesions)]
        for k, ((code, rgb), threshold) in enumerate(zip(key, thresholds, strict=True)):
            pred = prob[..., k] >= threshold
            _save_maps(prob[..., k], pred, out / f"{stem}_{code}")
            layers.append((pred, rgb))
            row |= {f"{code}_threshold": threshold, f"{code}_lesion_pixels": int(pred.sum()),
                    f"{code}_lesion_percent_of_fov": _percent(int(pred.sum()), area)}
        save_png(legend(overlay(image, layers, self.overlay_scale), key), out / f"{stem}_overlay.png")
        return row


def _save_maps(prob: np.ndarray, pred: np.ndarray, base: Path) -> None:
    """<base>_prob.png (8-bit probability) and <base>_mask.png (0/255)."""
    save_probability(prob, base.with_name(f"{base.name}_prob.png"))
    save_png(pred.astype(np.uint8) * 255, base.with_name(f"{base.name}_mask.png"), rle=True)


def _percent(pixels: int, area: int) -> float:
    return 100 * pixels / area if area else float("nan")
