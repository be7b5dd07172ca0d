"""One photograph's outputs in infer.py: the probability maps, masks and overlay it writes and its
row of areas.csv, in three steps that lesionseg.batch.pipelined overlaps (read, compute, write), so
bench/bench_infer.py times exactly what infer.py runs.

A Segmenter runs one model, or several in one pass (infer.py --models: each with its own
preparation and thresholds, the photograph read once). One model of one lesion writes
<stem>_prob.png, <stem>_mask.png and <stem>_overlay.png; otherwise each structure gets
<stem>_<CODE>_prob.png and <stem>_<CODE>_mask.png, the overlay a colour per structure and a legend,
and areas.csv a column pair per structure.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from .errors import PipelineError, warn
from .fov import measure
from .imageio import read_rgb, save_png, save_probability
from .multi import colour
from .overlay import PRED, legend, overlay
from .predictor import Predictor
from .prep import Prep, to_original

Loaded = tuple[np.ndarray, tuple[np.ndarray, ...], int]  # the photograph, each model's input, its field of view


@dataclass(frozen=True)
class Segmenter:
    predictors: tuple[Predictor, ...]  # one per model, in the order typed
    thresholds: list[float]  # one per output, over the models in order
    out: Path
    overlay_scale: int = 2

    def __post_init__(self):
        seen: dict[str, int] = {}
        for k, predictor in enumerate(self.predictors):
            for code in predictor.lesions:
                if code in seen:
                    raise PipelineError(f"{code} is segmented by two of the models (number {seen[code] + 1} and "
                                        f"{k + 1}); run one model per structure")
                seen[code] = k
        if len(self.thresholds) != len(seen):
            raise ValueError(f"{len(self.thresholds)} thresholds for {len(seen)} outputs")

    @classmethod
    def load(cls, folders: list[Path], out: Path, threshold: float | None = None,
             typed: dict[str, Any] | None = None, engine: str = "auto", overlay_scale: int = 2) -> Segmenter:
        """The models of `folders`, each with its lesions' stored thresholds (or `threshold` for all),
        predicting with its stored inference settings but for those `typed`; warns where the figures
        may not hold. With `auto`, a model without an ONNX export gets one first (lesionseg.export.ensure_export)."""
        from .export import ensure_export

        predictors, thresholds = [], []
        for folder in folders:
            if engine == "auto":
                ensure_export(folder)
            predictor = Predictor.load(folder, typed or {}, thresholds_optional=threshold is not None, engine=engine)
            predictors.append(predictor)
            thresholds += _thresholds(folder, predictor, threshold, typed or {})
        return cls(tuple(predictors), thresholds, out, overlay_scale)

    @property
    def predictor(self) -> Predictor:
        """The model of a one-model Segmenter."""
        if len(self.predictors) != 1:
            raise ValueError("this Segmenter runs several models")
        return self.predictors[0]

    @property
    def lesions(self) -> tuple[str, ...]:
        """Every output's structure, over the models in order."""
        return tuple(code for p in self.predictors for code in p.lesions)

    def read(self, path: Path) -> Loaded:
        """Decode and prepare (PipelineError for an unreadable file)."""
        return self.prepare(path, read_rgb(path))

    def prepare(self, path: Path, image: np.ndarray) -> Loaded:
        """Each model's input and the field of view's area, from one look at the field of view; models
        that prepare alike share one input."""
        fov, diameter = measure(image)
        keys = [replace(p.prep, lesions=()) for p in self.predictors]  # the lesions do not change the input
        inputs: dict[Prep, np.ndarray] = {}
        for p, key in zip(self.predictors, keys, strict=True):
            if key not in inputs:
                inputs[key] = p.prepare(image, str(path), diameter)
        return image, tuple(inputs[k] for k in keys), int(fov.sum())

    def compute(self, path: Path, loaded: Loaded) -> list[np.ndarray]:
        """Each model's probabilities at its working scale: the network, flips included."""
        return [p.predict_prepared(x) for p, x in zip(self.predictors, loaded[1], strict=True)]

    def resample(self, loaded: Loaded, probs: list[np.ndarray]) -> np.ndarray:
        """The models' probabilities at the photograph's size, one channel per structure."""
        h, w = loaded[0].shape[:2]
        return np.concatenate([to_original(p, h, w) for p in probs], axis=-1)

    def write(self, path: Path, loaded: Loaded, probs: list[np.ndarray]) -> dict:
        """Resample to the photograph's size, write its files, and return its areas.csv row."""
        return {"image": str(path), "stem": path.stem} | self.save(loaded, self.resample(loaded, probs), path.stem)

    def save(self, loaded: Loaded, prob: np.ndarray, stem: str) -> dict:
        """Write one photograph's maps, masks and overlay (`prob` at its size, one channel per
        structure); return its areas figures."""
        image, _, area = loaded
        out = self.out
        if len(self.predictors) == 1 and not self.predictor.prep.lesions:  # one lesion: the names it always had
            pred = prob[..., 0] >= self.thresholds[0]
            _save_maps(prob[..., 0], pred, out / stem)
            save_png(overlay(image, [(pred, PRED)], self.overlay_scale), out / f"{stem}_overlay.png")
            return {"threshold": self.thresholds[0], "lesion_pixels": int(pred.sum()), "fov_pixels": area,
                    "lesion_percent_of_fov": _percent(int(pred.sum()), area)}
        row: dict = {"fov_pixels": area}
        layers, key = [], [(code, colour(code, k)) for k, code in enumerate(self.lesions)]
        for k, ((code, rgb), threshold) in enumerate(zip(key, self.thresholds, strict=True)):
            pred = prob[..., k] >= threshold
            _save_maps(prob[..., k], pred, out / f"{stem}_{code}")
            layers.append((pred, rgb))
            row |= {f"{code}_threshold": threshold, f"{code}_lesion_pixels": int(pred.sum()),
                    f"{code}_lesion_percent_of_fov": _percent(int(pred.sum()), area)}
        save_png(legend(overlay(image, layers, self.overlay_scale), key), out / f"{stem}_overlay.png")
        return row


def _thresholds(folder: Path, predictor: Predictor, threshold: float | None, typed: dict[str, Any]) -> list[float]:
    """One model's thresholds: `threshold` for each output, else the stored ones (0.5 with a warning
    where none was chosen, and a warning where typed settings differ from those they were chosen under)."""
    bundle = predictor.bundle
    if threshold is not None:
        return [threshold] * len(bundle.lesions)
    if not bundle.evaluated:
        warn(f"{folder}: no threshold was chosen for this model (run evaluate.py to choose one on "
             "validation images); using 0.5")
    overridden = sorted(k for k, v in typed.items() if getattr(bundle.inference, k) != v)
    if overridden and bundle.evaluated:
        which = "thresholds were" if len(bundle.lesions) > 1 else "threshold was"
        warn(f"{folder}: the {which} chosen under other settings ({', '.join(overridden)}); its figures may not hold")
    return bundle.threshold_values()


def _save_maps(prob: np.ndarray, pred: np.ndarray, base: Path) -> None:
    """<base>_prob.png (8-bit probability) and <base>_mask.png (0/255)."""
    save_probability(prob, base.with_name(f"{base.name}_prob.png"))
    save_png(pred.astype(np.uint8) * 255, base.with_name(f"{base.name}_mask.png"), rle=True)


def _percent(pixels: int, area: int) -> float:
    return 100 * pixels / area if area else float("nan")
