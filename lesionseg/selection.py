"""Model selection on whole validation images: every few epochs the validation photographs are
predicted as evaluate.py would (working scale, fast path, resampled to the original size) and
their AUPR against the original masks goes into the epoch's logs as `val_aupr`. The loss on
validation patches is a noisy stand-in for what is finally measured; this is the measure itself."""

from __future__ import annotations

import time
from pathlib import Path

import keras
import pandas as pd

from .imageio import read_binary_mask, read_rgb, resolve
from .metrics import ThresholdCounts, average_precision
from .predict import Inference, predict_prepared
from .prep import Prep, prepare_image, to_original


class ValImageScore(keras.callbacks.Callback):
    """Adds `val_aupr` to the logs of every `every`-th epoch and of the last one."""

    def __init__(self, table: pd.DataFrame, data: Path, prep: Prep, every: int, last_epoch: int,
                 inference: Inference = Inference()):
        super().__init__()
        self.every, self.last_epoch, self.inference = every, last_epoch, inference
        # decoded once: prepared inputs and the original-size truth
        self.cases = [(prepare_image(read_rgb(resolve(r.image, data)), prep), read_binary_mask(resolve(r.mask, data)))
                      for r in table.itertuples()]

    def due(self, epoch: int) -> bool:
        return epoch % self.every == 0 or epoch == self.last_epoch

    def score(self, model: keras.Model) -> float:
        counts = ThresholdCounts()
        for image, truth in self.cases:
            counts.add(to_original(predict_prepared(model, image, self.inference), *truth.shape), truth)
        return average_precision(counts)

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None and self.due(epoch + 1):
            t = time.perf_counter()
            logs["val_aupr"] = self.score(self.model)
            logs["aupr_seconds"] = round(time.perf_counter() - t, 2)


