"""Losses and the soft Dice metric, in keras.ops so they run on any Keras backend.

`wbce` (the paper): pixel-wise weighted binary cross-entropy on logits.
`wbce_dice`: the same plus a soft Dice loss over the whole batch.
`wbce_cldice`: weighted BCE plus half the soft Dice loss and half a clDice loss (centreline Dice,
Shit et al., CVPR 2021) for thin tubular structures such as vessels.
With several lesions (one output channel each) the per-lesion losses are summed, each lesion with
its own positive weight. Exudates cover about 1% of the
pixels, so BCE alone is content with a near-constant low prediction for a long time; the Dice term
scores overlap directly and does not care how many background pixels there are. A vessel one pixel
wide has few pixels, so Dice barely notices when it is missed; clDice compares the skeletons, where
each vessel counts by its length, not its area.
"""

from __future__ import annotations

import keras
from keras import ops

LOSSES = ("wbce", "wbce_dice", "wbce_cldice")
DICE_SMOOTH = 1.0  # pixels added to numerator and denominator: a batch without lesion gives no 0/0
SKELETON_STEPS = 10  # soft-skeleton erosions: more than the widest structure's radius (DRIVE vessels: about 6 px)


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


def _soft_erode(x):
    """Soft erosion: the minimum over a plus-shaped 3x3 neighbourhood (max pooling of -x)."""
    rows = -ops.max_pool(-x, (3, 1), strides=1, padding="same")
    cols = -ops.max_pool(-x, (1, 3), strides=1, padding="same")
    return ops.minimum(rows, cols)


def _soft_open(x):
    """Erosion then 3x3 dilation: what survives of thin parts is nothing, of thick ones about all."""
    return ops.max_pool(_soft_erode(x), (3, 3), strides=1, padding="same")


def soft_skeleton(x, steps: int = SKELETON_STEPS):
    """Differentiable skeleton of a (batch, height, width, channels) map in [0, 1]: at each of
    `steps` erosions, what an opening would remove is the part of the shape that thin at this depth."""
    skeleton = ops.relu(x - _soft_open(x))
    for _ in range(steps):
        x = _soft_erode(x)
        delta = ops.relu(x - _soft_open(x))
        skeleton = skeleton + ops.relu(delta - skeleton * delta)
    return skeleton


def _batch_cldice_loss(y, x):
    """1 - clDice over the batch, summed over lesions: the harmonic mean of the share of the
    predicted skeleton inside the mask and the share of the mask's skeleton covered by the prediction."""
    p = ops.sigmoid(x)
    axes = (0, 1, 2)
    sk_p, sk_y = soft_skeleton(p), soft_skeleton(y)
    precision = (ops.sum(sk_p * y, axis=axes) + DICE_SMOOTH) / (ops.sum(sk_p, axis=axes) + DICE_SMOOTH)
    sensitivity = (ops.sum(sk_y * p, axis=axes) + DICE_SMOOTH) / (ops.sum(sk_y, axis=axes) + DICE_SMOOTH)
    return ops.sum(1.0 - 2.0 * precision * sensitivity / (precision + sensitivity))


@keras.saving.register_keras_serializable(package="lesionseg")
class WeightedBCE(keras.losses.Loss):
    """Mean over pixels of w * BCE(logit, y), w = pos_weight on lesion pixels and 1 elsewhere.

    The paper states a 3:1 lesion:background weight; its code used 1 + 8y (9:1). With
    `dice_weight` > 0 a batch soft-Dice loss is added (the same value for every sample, so the
    batch mean is BCE + dice_weight * Dice loss); `cldice_weight` > 0 adds a batch clDice loss alike.
    """

    def __init__(self, pos_weight: float | list[float] = 3.0, dice_weight: float = 0.0, name: str = "weighted_bce",
                 cldice_weight: float = 0.0, **kwargs):
        super().__init__(name=name, **kwargs)
        self.pos_weight = float(pos_weight) if isinstance(pos_weight, int | float) else [float(w) for w in pos_weight]
        self.dice_weight = float(dice_weight)
        self.cldice_weight = float(cldice_weight)

    def call(self, y_true, y_pred):
        y = ops.cast(y_true, "float32")
        x = ops.cast(y_pred, "float32")
        loss = _weighted_bce(y, x, self.pos_weight)
        if self.dice_weight:
            loss = loss + self.dice_weight * _batch_dice_loss(y, x)
        if self.cldice_weight:
            loss = loss + self.cldice_weight * _batch_cldice_loss(y, x)
        return loss

    def get_config(self):
        return {**super().get_config(), "pos_weight": self.pos_weight, "dice_weight": self.dice_weight,
                "cldice_weight": self.cldice_weight}


def make_loss(name: str, pos_weight: float | tuple[float, ...]) -> keras.losses.Loss:
    """pos_weight: one number for every lesion, or one per output channel."""
    if name == "wbce":
        return WeightedBCE(pos_weight)
    if name == "wbce_dice":
        return WeightedBCE(pos_weight, dice_weight=1.0, name="weighted_bce_dice")
    if name == "wbce_cldice":  # the clDice paper's even blend of soft Dice and clDice
        return WeightedBCE(pos_weight, dice_weight=0.5, cldice_weight=0.5, name="weighted_bce_cldice")
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
