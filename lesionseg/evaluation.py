"""One pass over a set of whole images: predict, accumulate pixel and lesion counts, and hand each
probability map to a callback (for PNGs and overlays) so no map is kept in memory."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
import pandas as pd
from tqdm import tqdm

from .fov import fov_from_image
from .imageio import read_binary_mask, read_gray, read_rgb, resolve
from .lesions import LesionCounts
from .metrics import ThresholdCounts


@dataclass
class SetCounts:
    frame: ThresholdCounts = field(default_factory=ThresholdCounts)
    fov: ThresholdCounts = field(default_factory=ThresholdCounts)
    lesions: LesionCounts | None = None


def load_truth(row, data: Path, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(lesion mask, field of view): the dataset's FOV mask when it has one, else estimated."""
    truth = read_binary_mask(resolve(row.mask, data))
    fov = read_gray(resolve(row.fov, data)) > 127 if getattr(row, "fov", "") else fov_from_image(image)
    return truth, fov


def run_set(table: pd.DataFrame, data: Path, model: keras.Model,
            predict: Callable[[keras.Model, np.ndarray], np.ndarray], desc: str, lesions: LesionCounts | None = None,
            each: Callable[[str, np.ndarray, np.ndarray, np.ndarray, np.ndarray], None] | None = None) -> SetCounts:
    counts = SetCounts(lesions=lesions)
    for row in tqdm(list(table.itertuples()), desc=desc, unit="img"):
        image = read_rgb(resolve(row.image, data))
        truth, fov = load_truth(row, data, image)
        prob = predict(model, image)
        counts.frame.add(prob, truth)
        counts.fov.add(prob, truth, fov)
        if counts.lesions is not None:
            counts.lesions.add(prob, truth)
        if each:
            each(row.stem, image, prob, truth, fov)
    return counts
