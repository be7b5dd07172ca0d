"""One pass over a set of whole images: a generator yields each image with its probability map,
truth and field of view, so the caller writes what it needs and no map is kept in memory; the
counts accumulate every threshold's pixel (and lesion) figures on the way."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from .fov import fov_from_image
from .imageio import read_binary_mask, read_gray, read_rgb, resolve
from .lesions import LesionCounts
from .metrics import ThresholdCounts
from .multi import mask_column


@dataclass
class Evaluated:
    stem: str
    image: np.ndarray  # RGB, original size
    prob: np.ndarray  # lesion probability, original size: HxW, or HxWxK from `evaluated`
    truth: np.ndarray  # the same shape as prob
    fov: np.ndarray

    def lesion(self, k: int) -> Evaluated:
        """The view of lesion k alone (HxW maps), which the counts and per-image rows take."""
        return Evaluated(self.stem, self.image, self.prob[..., k], self.truth[..., k], self.fov)


@dataclass
class SetCounts:
    frame: ThresholdCounts = field(default_factory=ThresholdCounts)
    fov: ThresholdCounts = field(default_factory=ThresholdCounts)
    lesions: LesionCounts | None = None

    def add(self, e: Evaluated) -> None:
        self.frame.add(e.prob, e.truth)
        self.fov.add(e.prob, e.truth, e.fov)
        if self.lesions is not None:
            self.lesions.add(e.prob, e.truth)


def read_truths(row, data: Path, lesions: tuple[str, ...] = ()) -> np.ndarray:
    """HxWxK bool: the row's mask (one lesion) or each lesion's `mask_<CODE>`, in the model's order."""
    paths = [getattr(row, mask_column(c)) for c in lesions] if lesions else [row.mask]
    return np.stack([read_binary_mask(resolve(p, data)) for p in paths], axis=-1)


def load_truth(row, data: Path, image: np.ndarray, lesions: tuple[str, ...] = ()) -> tuple[np.ndarray, np.ndarray]:
    """(HxWxK lesion masks, field of view): the dataset's FOV mask when it has one, else estimated."""
    fov = read_gray(resolve(row.fov, data)) > 127 if getattr(row, "fov", "") else fov_from_image(image)
    return read_truths(row, data, lesions), fov


def evaluated(table: pd.DataFrame, data: Path, predict: Callable[[np.ndarray, str], np.ndarray],
              desc: str, lesions: tuple[str, ...] = ()) -> Iterator[Evaluated]:
    """Each listed image predicted (HxWxK, one channel per lesion; `predict(image, name)`, e.g. a
    Predictor's), in the table's order, with a progress bar."""
    for row in tqdm(list(table.itertuples()), desc=desc, unit="img"):
        path = resolve(row.image, data)
        image = read_rgb(path)
        truth, fov = load_truth(row, data, image, lesions)
        yield Evaluated(row.stem, image, predict(image, str(path)), truth, fov)


def count_all(items: Iterable[Evaluated], channels: int = 1) -> list[SetCounts]:
    """Pixel counts of every threshold, one SetCounts per lesion."""
    counts = [SetCounts() for _ in range(channels)]
    for e in items:
        for k, c in enumerate(counts):
            c.add(e.lesion(k))
    return counts
