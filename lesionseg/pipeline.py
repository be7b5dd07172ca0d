"""tf.data input: parallel decode, per-epoch shuffle that is a pure function of (seed, epoch), and
stateless augmentation seeded per element, so a resumed run sees exactly the batches it would have.

Augmentation as the paper, with its code's bugs fixed: both flips apply to image and mask alike
(the paper's second flip discarded the first), and brightness / hue act on [0, 1]-scaled pixels and
are clipped (the paper applied them to 0..255 floats, where a 0.7 brightness delta does almost
nothing; its hue shift, which does not depend on the value scale, was fully active).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from .errors import PipelineError
from .imageio import read_csv, resolve

AUTOTUNE = tf.data.AUTOTUNE


@dataclass(frozen=True)
class Augment:
    flips: bool = True
    brightness: float = 0.7
    hue: float = 0.3
    rotations: bool = False  # transpose half the patches (square ones): with the flips, all 8 rotations / mirrors
    contrast: float = 0.0  # scale each patch's deviation from its mean by a factor in [1 - contrast, 1 + contrast]


def load_patch_table(csv: Path, data: Path) -> tuple[list[str], list[str]]:
    df = read_csv(csv, ["patch_image", "patch_mask"], "run traintest_split.py first")
    images = [str(resolve(p, data)) for p in df.patch_image]
    masks = [str(resolve(p, data)) for p in df.patch_mask]
    missing = [p for p in images + masks if not Path(p).is_file()]
    if missing:
        raise PipelineError(f"{missing[0]}: patch file listed in {csv} is missing ({len(missing)} in all); "
                            "run extract_patches.py and traintest_split.py again")
    return images, masks


def decode(image_path, mask_path, channels: int = 1):
    """float32 image 0..255 (HxWx3) and float32 mask 0/1 (HxWxK) from a bit-packed patch mask
    (bit k = lesion k; a single lesion's 0/255 mask has bit 0 set where it is lesion)."""
    image = tf.cast(tf.io.decode_jpeg(tf.io.read_file(image_path), channels=3), tf.float32)
    mask = tf.io.decode_png(tf.io.read_file(mask_path), channels=1)
    bits = tf.constant([1 << k for k in range(channels)], tf.uint8)
    return image, tf.cast(tf.bitwise.bitwise_and(mask, bits) > 0, tf.float32)


def augment(image, mask, seed, cfg: Augment):
    """Same geometric transform on image and mask; photometric ones on the image only."""
    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), num=4)
    if cfg.rotations:  # its own stream, so the flips and colours drawn without it stay the same
        swap = tf.random.stateless_uniform([], tf.random.experimental.stateless_fold_in(seeds[0], 1)) < 0.5
        image = tf.where(swap, tf.transpose(image, [1, 0, 2]), image)
        mask = tf.where(swap, tf.transpose(mask, [1, 0, 2]), mask)
    if cfg.flips:
        lr = tf.random.stateless_uniform([], seeds[0]) < 0.5
        image = tf.where(lr, tf.reverse(image, [1]), image)
        mask = tf.where(lr, tf.reverse(mask, [1]), mask)
        ud = tf.random.stateless_uniform([], seeds[1]) < 0.5
        image = tf.where(ud, tf.reverse(image, [0]), image)
        mask = tf.where(ud, tf.reverse(mask, [0]), mask)
    x = image / 255.0
    if cfg.brightness > 0:
        x = tf.clip_by_value(tf.image.stateless_random_brightness(x, cfg.brightness, seeds[2]), 0.0, 1.0)
    if cfg.hue > 0:
        x = tf.clip_by_value(tf.image.stateless_random_hue(x, cfg.hue, seeds[3]), 0.0, 1.0)
    if cfg.contrast > 0:  # its own stream, like the rotations: the other draws do not move
        x = tf.clip_by_value(tf.image.stateless_random_contrast(
            x, 1.0 - cfg.contrast, 1.0 + cfg.contrast, tf.random.experimental.stateless_fold_in(seeds[2], 1)), 0.0, 1.0)
    return x * 255.0, mask


def epoch_orders(n: int, seed: int, start: int, stop: int, shuffle: bool, length: int | None = None) -> np.ndarray:
    """Row e - start: the patch order of epoch e (`length` draws, n by default), a function of (seed, e)."""
    length = length or n
    rows = []
    for e in range(start, stop):
        rng = np.random.default_rng([seed, e])
        reps = -(-length // n)
        rows.append(np.concatenate([rng.permutation(n) if shuffle else np.arange(n) for _ in range(reps)])[:length])
    return np.array(rows, np.int64).reshape(-1, length)


def training_dataset(images: list[str], masks: list[str], batch: int, seed: int, start_epoch: int, epochs: int,
                     cfg: Augment | None, shuffle: bool = True, per_epoch: int | None = None,
                     drop_remainder: bool = False, channels: int = 1) -> tf.data.Dataset:
    """Batches for epochs start_epoch..epochs-1 back to back; each epoch ends with its own last batch.
    `per_epoch` patches an epoch (default: one pass) for fixed-length epochs."""
    n = len(images)
    orders = tf.constant(epoch_orders(n, seed, start_epoch, epochs, shuffle, per_epoch), tf.int64)
    paths = tf.constant(images), tf.constant(masks)

    def load(epoch, pos, idx):
        image, mask = decode(paths[0][idx], paths[1][idx], channels)
        if cfg is not None:
            element_seed = tf.stack([tf.constant(seed, tf.int64), epoch * orders.shape[1] + pos])
            image, mask = augment(image, mask, element_seed, cfg)
        return image, mask

    def one_epoch(row):
        epoch = row + start_epoch
        ds = tf.data.Dataset.from_tensor_slices(orders[row]).enumerate()
        ds = ds.map(lambda pos, idx: load(epoch, pos, idx), num_parallel_calls=AUTOTUNE, deterministic=True)
        return ds.batch(batch, drop_remainder=drop_remainder)

    return tf.data.Dataset.range(orders.shape[0]).flat_map(one_epoch).prefetch(AUTOTUNE)


def eval_dataset(images: list[str], masks: list[str], batch: int, drop_remainder: bool = False,
                 channels: int = 1) -> tf.data.Dataset:
    """drop_remainder: with several replicas a short last batch would leave one of them empty."""
    ds = tf.data.Dataset.from_tensor_slices((images, masks))
    ds = ds.map(lambda i, m: decode(i, m, channels), num_parallel_calls=AUTOTUNE, deterministic=True)
    return ds.batch(batch, drop_remainder=drop_remainder).prefetch(AUTOTUNE)
