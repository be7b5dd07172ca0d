"""Model selection on whole validation images: every few epochs the validation photographs are
predicted as evaluate.py would (working scale, fast path, resampled to the original size) and
their AUPR against the original masks goes into the epoch's logs as `val_aupr`. The loss on
validation patches is a noisy stand-in for what is finally measured; this is the measure itself.
With several lesions `val_aupr` is the mean of the lesions' AUPRs, each logged as `val_aupr_<CODE>`.

For the optic disc the challenge's figure is another: the mean Jaccard over photographs, one region kept
in each map. With `jaccard` the maps keep one region (lesionseg.components), the threshold is chosen by
the max_dice rule as evaluate.py chooses it, and the mean Jaccard at it is logged as `val_jaccard`, so
the epoch can be chosen by what the disc is ranked by (pixel AUPR kept mid-schedule epochs: RESULTS.md)."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from .errors import PipelineError, warn
from .evaluation import read_truths
from .imageio import has_rows, read_csv, read_rgb, resolve
from .metrics import ThresholdCounts, average_precision, choose_threshold
from .multi import mask_column
from .predict import Inference
from .predictor import Predictor
from .prep import Prep, to_original


class ValImageScore(keras.callbacks.Callback):
    """Adds `val_aupr` (and with `jaccard` also `val_jaccard`) to the logs of every `every`-th epoch and
    of the last one."""

    def __init__(self, table: pd.DataFrame, data: Path, prep: Prep, every: int, last_epoch: int,
                 inference: Inference = Inference(), jaccard: bool = False):
        super().__init__()
        if jaccard and prep.channels != 1:
            raise ValueError("the mean Jaccard of one region per photograph is a figure of one structure's model")
        self.every, self.last_epoch, self.lesions, self.jaccard = every, last_epoch, prep.lesions, jaccard
        if jaccard:
            inference = replace(inference, largest_component=True)
        self.predictor = Predictor.preparing(prep, inference)  # given the network being trained when scoring
        # decoded once: prepared inputs and the original-size truth, one channel per lesion
        self.cases = [(self.predictor.prepare(read_rgb(path := resolve(r.image, data)), str(path)),
                       read_truths(r, data, prep.lesions)) for r in table.itertuples()]
        # a lesion no validation image shows has no AUPR: the others are averaged
        self.present = [any(truth[..., k].any() for _, truth in self.cases) for k in range(prep.channels)]
        missing = [code for code, p in zip(prep.lesions or ("lesion",), self.present, strict=True) if not p]
        if missing and any(self.present):
            warn(f"no validation image shows {', '.join(missing)}: val_aupr averages the other lesions")

    def due(self, epoch: int) -> bool:
        return epoch % self.every == 0 or epoch == self.last_epoch

    def score(self, model: keras.Model) -> tuple[list[float], float]:
        """Each lesion's AUPR over the validation images, and with `jaccard` the mean Jaccard per
        photograph that has the structure (NaN without `jaccard`)."""
        counts = [ThresholdCounts() for _ in range(max(1, len(self.lesions)))]
        each: list[ThresholdCounts] = []  # per photograph (jaccard): its Jaccard at the pooled threshold
        predictor = self.predictor.with_model(model)
        for image, truth in self.cases:
            prob = to_original(predictor.predict_prepared(image), *truth.shape[:2])
            for k, c in enumerate(counts):
                c.add(prob[..., k], truth[..., k])
            if self.jaccard and truth.any():
                each.append(ThresholdCounts())
                each[-1].add(prob[..., 0], truth[..., 0])
        jaccard = float("nan")
        if each:
            threshold = choose_threshold(counts[0], "max_dice")
            jaccard = float(np.mean([c.at(threshold)["iou"] for c in each]))
        return [average_precision(c) for c in counts], jaccard

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None and self.due(epoch + 1):
            t = time.perf_counter()
            scores, jaccard = self.score(self.model)
            if self.jaccard:
                logs["val_jaccard"] = jaccard
            logs["val_aupr"] = float(np.mean([s for s, p in zip(scores, self.present, strict=True) if p]))
            if self.lesions:
                logs.update({f"val_aupr_{code}": s
                             for code, s, p in zip(self.lesions, scores, self.present, strict=True) if p})
            logs["aupr_seconds"] = round(time.perf_counter() - t, 2)


def epoch_scorers(data: Path, prep: Prep, *, select_by: str, every: int, epochs: int,
                  val_patches: bool) -> tuple[list[ValImageScore], str]:
    """What picks the best epoch: whole validation images' AUPR (or, for the optic disc, their mean
    Jaccard: select_by) when asked for (every > 0) and possible, else the validation loss, else (no
    validation patches) the training loss; returns the callbacks and the monitored figure."""
    monitor = "val_loss" if val_patches else "loss"
    fallback = "validation loss" if val_patches else "training loss (there are no validation patches)"
    val_images = data / "val_images.csv"
    if select_by != "val_aupr" and every <= 0:
        warn(f"--select-by {select_by} scores whole validation photographs, which needs --val-aupr-every N > 0: "
             f"the best epoch is chosen by {fallback}")
    if every > 0 and has_rows(val_images):
        table = read_csv(val_images, ["image", "mask", *(mask_column(c) for c in prep.lesions)],
                         "run traintest_split.py again")
        if select_by == "val_jaccard" and prep.channels != 1:
            raise PipelineError("--select-by val_jaccard scores one structure (the optic disc); "
                                f"this workspace has {prep.channels}: use --select-by val_aupr")
        scorer = ValImageScore(table, data, prep, every, epochs, jaccard=select_by == "val_jaccard")
        if any(scorer.present):
            return [scorer], select_by
        warn(f"no image of {val_images} shows a lesion, so it has no AUPR: the best epoch is chosen by {fallback}")
        return [], monitor
    if every > 0:
        warn(f"{val_images} lists no validation images: the best epoch is chosen by {fallback}")
    return [], monitor
