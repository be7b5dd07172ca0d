"""Losses and the soft Dice metric, in keras.ops so they run on any Keras backend.

`wbce` (the paper): pixel-wise weighted binary cross-entropy on logits.
`wbce_dice`: the same plus a soft Dice loss over the whole batch.
With several lesions (one output channel each) the per-lesion losses are summed, each lesion with
its own positive weight. Exudates cover about 1% of the
pixels, so BCE alone is content with a near-constant low prediction for a long time; the Dice term
scores overlap directly and does not care how many background pixels there are.
"""

from __future__ import annotations

import keras
from keras import ops

LOSSES = ("wbce", "wbce_dice")
DICE_SMOOTH = 1.0  # pixels added to numerator and denominator: a batch without lesion gives no 0/0


def _weighted_bce(y, x, pos_weight):
    """Per-sample mean over pixels of w * BCE(logit, y), w = pos_weight on lesion pixels and 1
    elsewhere, summed over lesions (channels); pos_weight is one number or one per channel."""
    # log(1 + exp(-|x|)) form: exact and stable for large logits
    bce = ops.maximum(x, 0.0) - x * y + ops.log1p(ops.exp(-ops.abs(x)))
    weight = 1.0 + (ops.convert_to_tensor(pos_weight, "float32") - 1.0) * y
    return ops.sum(ops.mean(weight * bce, axis=(1, 2)), axis=-1)


def _batch_dice_loss(y, x):
    """1 - soft Dice of the sigmoid probabilities over all pixels of the batch, summed over lesions."""
    p = ops.sigmoid(x)
    inter = ops.sum(p * y, axis=(0, 1, 2))
    return ops.sum(1.0 - (2.0 * inter + DICE_SMOOTH) / (ops.sum(p, axis=(0, 1, 2)) + ops.sum(y, axis=(0, 1, 2))
                                                          + DICE_SMOOTH))


@keras.saving.register_keras_serializable(package="lesionseg")
class WeightedBCE(keras.losses.Loss):
    """Mean over pixels of w * BCE(logit, y), w = pos_weight on lesion pixels and 1 elsewhere.

    The paper states a 3:1 lesion:background weight; its code used 1 + 8y (9:1). With
    `dice_weight` > 0 a batch soft-Dice loss is added (the same value for every sample, so the
    batch mean is BCE + dice_weight * Dice loss).
    """

    def __init__(self, pos_weight: float | list[float] = 3.0, dice_weight: float = 0.0, name: str = "weighted_bce",
                 **kwargs):
        super().__init__(name=name, **kwargs)
        self.pos_weight = float(pos_weight) if isinstance(pos_weight, int | float) else [float(w) for w in pos_weight]
        self.dice_weight = float(dice_weight)

    def call(self, y_true, y_pred):
        y = ops.cast(y_true, "float32")
        x = ops.cast(y_pred, "float32")
        loss = _weighted_bce(y, x, self.pos_weight)
        if self.dice_weight:
            loss = loss + self.dice_weight * _batch_dice_loss(y, x)
        return loss

    def get_config(self):
        return {**super().get_config(), "pos_weight": self.pos_weight, "dice_weight": self.dice_weight}


def make_loss(name: str, pos_weight: float | tuple[float, ...]) -> keras.losses.Loss:
    """pos_weight: one number for every lesion, or one per output channel."""
    if name == "wbce":
        return WeightedBCE(pos_weight)
    if name == "wbce_dice":
        return WeightedBCE(pos_weight, dice_weight=1.0, name="weighted_bce_dice")
    raise ValueError(f"unknown loss {name!r}; use one of {', '.join(LOSSES)}")


@keras.saving.register_keras_serializable(package="lesionseg")
def soft_dice(y_true, y_pred):
    """Per-patch 2|P.T| / (|P| + |T|) on sigmoid probabilities; 1 when both are empty (no 0/0)."""
    y = ops.cast(y_true, "float32")
    p = ops.sigmoid(ops.cast(y_pred, "float32"))
    inter = ops.sum(p * y, axis=(1, 2, 3))
    denom = ops.sum(p, axis=(1, 2, 3)) + ops.sum(y, axis=(1, 2, 3))
    safe = ops.where(denom > 0, denom, 1.0)
    return ops.where(denom > 0, 2.0 * inter / safe, 1.0)


def dice_metric() -> keras.metrics.Metric:
    return keras.metrics.MeanMetricWrapper(soft_dice, name="dice")
