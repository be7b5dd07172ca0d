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


@dataclass
class Evaluated:
    stem: str
    image: np.ndarray  # RGB, original size
    prob: np.ndarray  # lesion probability, original size
    truth: np.ndarray
    fov: np.ndarray


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


def load_truth(row, data: Path, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(lesion mask, field of view): the dataset's FOV mask when it has one, else estimated."""
    truth = read_binary_mask(resolve(row.mask, data))
    fov = read_gray(resolve(row.fov, data)) > 127 if getattr(row, "fov", "") else fov_from_image(image)
    return truth, fov


def evaluated(table: pd.DataFrame, data: Path, predict: Callable[[np.ndarray], np.ndarray],
              desc: str) -> Iterator[Evaluated]:
    """Each listed image predicted, in the table's order, with a progress bar."""
    for row in tqdm(list(table.itertuples()), desc=desc, unit="img"):
        image = read_rgb(resolve(row.image, data))
        truth, fov = load_truth(row, data, image)
        yield Evaluated(row.stem, image, predict(image), truth, fov)


def count_all(items: Iterable[Evaluated], lesions: LesionCounts | None = None) -> SetCounts:
    counts = SetCounts(lesions=lesions)
    for e in items:
        counts.add(e)
    return counts
