"""Pixel metrics for every threshold at once, from histograms of the lesion and background
probabilities accumulated over images: one pass over the pixels, whatever the number of thresholds.

Threshold k / bins predicts lesion where prob >= k / bins, for k = 0..bins.
"""

from __future__ import annotations

import numpy as np

BINS = 1000


class ThresholdCounts:
    def __init__(self, bins: int = BINS):
        self.bins = bins
        self.pos = np.zeros(bins + 1, np.int64)  # histogram of lesion-pixel probabilities
        self.neg = np.zeros(bins + 1, np.int64)
        self.images = 0

    def add(self, prob: np.ndarray, truth: np.ndarray, region: np.ndarray | None = None) -> None:
        idx = np.floor(prob * np.float64(self.bins)).astype(np.int64)
        idx += (idx + 1) / self.bins <= prob  # a probability exactly on threshold k/bins belongs to bin k
        idx = np.minimum(idx, self.bins)  # prob 1.0 reaches the last bin
        truth = truth.astype(bool)
        if region is not None:
            idx, truth = idx[region], truth[region]
        self.pos += np.bincount(idx[truth], minlength=self.bins + 1)
        self.neg += np.bincount(idx[~truth], minlength=self.bins + 1)
        self.images += 1

    @property
    def thresholds(self) -> np.ndarray:
        return np.arange(self.bins + 1) / self.bins

    def curves(self) -> dict[str, np.ndarray]:
        """TP, FP, FN, TN for each threshold (index k = threshold k / bins)."""
        tp = np.cumsum(self.pos[::-1])[::-1]
        fp = np.cumsum(self.neg[::-1])[::-1]
        return {"tp": tp, "fp": fp, "fn": self.pos.sum() - tp, "tn": self.neg.sum() - fp}

    def index(self, threshold: float) -> int:
        return int(np.clip(np.ceil(threshold * self.bins - 1e-9), 0, self.bins))

    def at(self, threshold: float) -> dict[str, float]:
        c = {k: int(v[self.index(threshold)]) for k, v in self.curves().items()}
        return {**c, **rates(c["tp"], c["fp"], c["fn"], c["tn"])}


def _div(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return np.divide(a, b, out=np.full(np.broadcast(a, b).shape, np.nan), where=b > 0)


def rates(tp, fp, fn, tn) -> dict:
    out = {
        "sensitivity": _div(tp, tp + fn), "specificity": _div(tn, tn + fp), "ppv": _div(tp, tp + fp),
        "dice": _div(2 * tp, 2 * tp + fp + fn), "iou": _div(tp, tp + fp + fn),
        "accuracy": _div(tp + tn, tp + tn + fp + fn),
    }
    return {k: (float(v) if np.ndim(v) == 0 else v) for k, v in out.items()}


def confusion(pred: np.ndarray, truth: np.ndarray, region: np.ndarray | None = None) -> dict:
    """Pixel counts and rates of one binary prediction, optionally inside a region (the field of view)."""
    if region is not None:
        pred, truth = pred[region], truth[region]
    c = {"tp": int((pred & truth).sum()), "fp": int((pred & ~truth).sum()), "fn": int((~pred & truth).sum()),
         "tn": int((~pred & ~truth).sum())}
    return c | rates(**c)


def pr_curve(counts: ThresholdCounts) -> tuple[np.ndarray, np.ndarray]:
    """(recall, precision) at thresholds where something is predicted, recall falling with threshold."""
    c = counts.curves()
    keep = (c["tp"] + c["fp"]) > 0
    return _div(c["tp"], c["tp"] + c["fn"])[keep], _div(c["tp"], c["tp"] + c["fp"])[keep]


def average_precision(counts: ThresholdCounts) -> float:
    """Step-wise area under the PR curve, sum (R_k - R_k+1) P_k (scikit-learn's average precision)."""
    recall, precision = pr_curve(counts)
    recall = np.append(recall, 0.0)
    return float(np.sum((recall[:-1] - recall[1:]) * precision))


def aupr_33(counts: ThresholdCounts) -> float:
    """The IDRiD challenge's version: PR points at the 33 thresholds 0, 1/32, ..., 1, trapezoid area."""
    c = counts.curves()
    idx = [counts.index(k / 32) for k in range(33)]
    tp, fp, fn = c["tp"][idx], c["fp"][idx], c["fn"][idx]
    recall = _div(tp, tp + fn)
    precision = np.where(tp + fp > 0, _div(tp, tp + fp), 1.0)
    order = np.argsort(recall, kind="stable")
    return float(np.trapezoid(precision[order], recall[order]))


def roc_auc(counts: ThresholdCounts) -> float:
    c = counts.curves()
    tpr = np.append(_div(c["tp"], c["tp"] + c["fn"]), 0.0)
    fpr = np.append(_div(c["fp"], c["fp"] + c["tn"]), 0.0)
    return float(-np.trapezoid(tpr, fpr))


def froc(counts: ThresholdCounts) -> tuple[np.ndarray, np.ndarray]:
    """(average false-positive pixels per image, sensitivity) for every threshold: the paper's FROC."""
    c = counts.curves()
    return c["fp"] / max(counts.images, 1), _div(c["tp"], c["tp"] + c["fn"])


def choose_threshold(counts: ThresholdCounts, rule: str, fp_budget: float = 0.0, fixed: float = 0.5) -> float:
    """The operating point on the FROC curve.

    max_dice: the threshold with the best Dice (beyond it, each extra true-positive pixel costs more
      than one false-positive pixel);
    fp_budget: the highest sensitivity whose average false-positive area per image is <= fp_budget;
    fixed: the given threshold.
    """
    if rule == "fixed":
        return float(fixed)
    c = counts.curves()
    if rule == "max_dice":
        dice = np.nan_to_num(_div(2 * c["tp"], 2 * c["tp"] + c["fp"] + c["fn"]), nan=-1.0)
        return float(counts.thresholds[int(np.argmax(dice))])  # ties: the lowest threshold (more sensitive)
    if rule == "fp_budget":
        fp_area, sens = froc(counts)
        ok = np.flatnonzero(fp_area <= fp_budget)
        if ok.size == 0:
            return 1.0
        return float(counts.thresholds[ok[np.argmax(np.nan_to_num(sens[ok], nan=-1.0))]])
    raise ValueError(f"unknown threshold rule {rule!r}")


def summary(counts: ThresholdCounts, threshold: float) -> dict:
    return {**counts.at(threshold), "aupr": average_precision(counts), "aupr_33": aupr_33(counts),
            "roc_auc": roc_auc(counts), "images": counts.images}


def per_image_means(rows: list[dict]) -> dict:
    """Mean Dice and IoU over the images that have the lesion: how the IDRiD challenge ranked the
    optic disc (mean Jaccard per image), unlike the pooled figures, where large lesions weigh most.
    An image without the lesion has no Dice to average (0 as soon as one pixel is predicted)."""
    kept = [r for r in rows if r["lesion_pixels"] > 0]
    if not kept:
        return {"images": 0, "dice": float("nan"), "iou": float("nan")}
    return {"images": len(kept), **{k: float(np.mean([r[k] for r in kept])) for k in ("dice", "iou")}}
