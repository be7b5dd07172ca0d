"""The random draws of augmentation, computed bit for bit alike by TensorFlow (the tf.data input) and
NumPy (the input that needs no TensorFlow, lesionseg.arrays), so both give the same batches.

Each draw is a uniform in [0, 1) that is a pure function of the element's seed (seed, position) and
of the draw's own index: a counter-based hash of 32-bit integers (MurmurHash3's finaliser), whose
integer arithmetic is exact in both libraries. A draw added later gets a new index, so the flips and
colours of earlier recipes do not move.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Augment:
    flips: bool = True
    brightness: float = 0.7
    hue: float = 0.3
    rotations: bool = False  # transpose half the patches (square ones): with the flips, all 8 rotations / mirrors
    contrast: float = 0.0  # scale each patch's deviation from its mean by a factor in [1 - contrast, 1 + contrast]


MIX = (0x85EBCA6B, 0xC2B2AE35)
GOLDEN = 0x9E3779B9  # spreads the small draw indices and positions over the 32 bits
LR, UD, SWAP, BRIGHTNESS, HUE, CONTRAST = range(6)  # the index of each draw
COUNT = 6


def _fmix_np(h: np.ndarray) -> np.ndarray:
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(MIX[0])
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(MIX[1])
    return h ^ (h >> np.uint32(16))


def _fold_np(value: int) -> np.uint32:
    """A 64-bit integer's two halves xor-ed into 32 bits."""
    v = int(value) & 0xFFFFFFFFFFFFFFFF
    return np.uint32((v & 0xFFFFFFFF) ^ (v >> 32))


def uniforms_np(seed: tuple[int, int], count: int = COUNT) -> np.ndarray:
    """`count` float32 uniforms in [0, 1) for the element seed (seed, position)."""
    with np.errstate(over="ignore"):
        k = np.arange(count, dtype=np.uint32) * np.uint32(GOLDEN)
        h = _fmix_np(_fold_np(seed[0]) ^ _fmix_np(_fold_np(seed[1]) ^ _fmix_np(k + np.uint32(1))))
    return ((h >> np.uint32(8)).astype(np.float32) * np.float32(2.0**-24)).astype(np.float32)


def uniforms_tf(seed, count: int = COUNT):
    """The same draws in TensorFlow, for a (2,) int64 seed tensor inside tf.data."""
    import tensorflow as tf

    def u32(x: int):
        return tf.constant(x, tf.uint32)

    def fmix(h):
        h = tf.bitwise.bitwise_xor(h, tf.bitwise.right_shift(h, u32(16)))
        h = h * u32(MIX[0])
        h = tf.bitwise.bitwise_xor(h, tf.bitwise.right_shift(h, u32(13)))
        h = h * u32(MIX[1])
        return tf.bitwise.bitwise_xor(h, tf.bitwise.right_shift(h, u32(16)))

    def fold(v):
        v = tf.cast(v, tf.int64)
        low = tf.bitwise.bitwise_and(v, tf.constant(0xFFFFFFFF, tf.int64))
        high = tf.bitwise.bitwise_and(tf.bitwise.right_shift(v, tf.constant(32, tf.int64)),
                                      tf.constant(0xFFFFFFFF, tf.int64))
        return tf.cast(tf.bitwise.bitwise_xor(low, high), tf.uint32)

    seed = tf.cast(seed, tf.int64)
    k = tf.range(count, dtype=tf.int64)
    k = tf.cast(tf.bitwise.bitwise_and(k * GOLDEN, tf.constant(0xFFFFFFFF, tf.int64)), tf.uint32)
    h = fmix(fold(seed[0]) ^ fmix(fold(seed[1]) ^ fmix(k + u32(1))))
    return tf.cast(tf.bitwise.right_shift(h, u32(8)), tf.float32) * (2.0**-24)
