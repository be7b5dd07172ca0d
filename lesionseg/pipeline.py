"""tf.data input: parallel decode, per-epoch shuffle that is a pure function of (seed, epoch), and
stateless augmentation seeded per element, so a resumed run sees exactly the batches it would have
(lesionseg.arrays gives the same batches without TensorFlow).

Augmentation as the paper, with its code's bugs fixed: both flips apply to image and mask alike
(the paper's second flip discarded the first), and brightness / hue act on [0, 1]-scaled pixels and
are clipped (the paper applied them to 0..255 floats, where a 0.7 brightness delta does almost
nothing; its hue shift, which does not depend on the value scale, was fully active).
"""

from __future__ import annotations

import tensorflow as tf

from .arrays import epoch_orders, load_patch_table
from .draws import Augment

AUTOTUNE = tf.data.AUTOTUNE
__all__ = ["Augment", "augment", "epoch_orders", "training_dataset", "eval_dataset", "load_patch_table"]


def decode(image_path, mask_path, channels: int = 1):
    """float32 image 0..255 (HxWx3) and float32 mask 0/1 (HxWxK) from a bit-packed patch mask
    (bit k = lesion k; a single lesion's 0/255 mask has bit 0 set where it is lesion)."""
    # the accurate integer IDCT decodes as Pillow does (evaluate.py, infer.py and lesionseg.arrays read
    # with Pillow); TensorFlow's default differs from it by up to 7 levels
    jpeg = tf.io.decode_jpeg(tf.io.read_file(image_path), channels=3, dct_method="INTEGER_ACCURATE")
    image = tf.cast(jpeg, tf.float32)
    mask = tf.io.decode_png(tf.io.read_file(mask_path), channels=1)
    bits = tf.constant([1 << k for k in range(channels)], tf.uint8)
    return image, tf.cast(tf.bitwise.bitwise_and(mask, bits) > 0, tf.float32)


def augment(image, mask, seed, cfg: Augment):
    """Same geometric transform on image and mask; photometric ones on the image only. The draws are
    lesionseg.draws' (each its own index), which lesionseg.arrays repeats in NumPy."""
    from . import draws

    u = draws.uniforms_tf(seed)
    if cfg.rotations:  # square patches only; the flips and colours drawn without it stay the same
        swap = u[draws.SWAP] < 0.5
        image = tf.where(swap, tf.transpose(image, [1, 0, 2]), image)
        mask = tf.where(swap, tf.transpose(mask, [1, 0, 2]), mask)
    if cfg.flips:
        lr = u[draws.LR] < 0.5
        image = tf.where(lr, tf.reverse(image, [1]), image)
        mask = tf.where(lr, tf.reverse(mask, [1]), mask)
        ud = u[draws.UD] < 0.5
        image = tf.where(ud, tf.reverse(image, [0]), image)
        mask = tf.where(ud, tf.reverse(mask, [0]), mask)
    x = image / 255.0
    if cfg.brightness > 0:
        x = tf.clip_by_value(x + (2 * u[draws.BRIGHTNESS] - 1) * cfg.brightness, 0.0, 1.0)
    if cfg.hue > 0:
        x = tf.clip_by_value(tf.image.adjust_hue(x, (2 * u[draws.HUE] - 1) * cfg.hue), 0.0, 1.0)
    if cfg.contrast > 0:
        x = tf.clip_by_value(tf.image.adjust_contrast(x, 1 + (2 * u[draws.CONTRAST] - 1) * cfg.contrast), 0.0, 1.0)
    return x * 255.0, mask


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
