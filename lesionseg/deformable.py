"""A deformable 3x3 convolution (Dai et al., 2017) for the deformable encoder of the vessel slides of
the project's sources: each of the kernel's nine taps is moved, per pixel, by an offset that a plain
3x3 conv learns from the same input, so the kernel can bend along a curved vessel.

The offsets start at zero (the offset conv is zero-initialised), so a fresh layer is a plain 3x3 conv,
and training bends it only where that lowers the loss. Each moved tap reads the input bilinearly
from its four neighbours, with zeros outside the image (as "same" padding). Plain `keras.ops`, so it
runs on any backend and exports to ONNX; it costs about four gathers of the input per tap, which is
why the encoder uses it below its first level only (lesionseg.model).
"""

from __future__ import annotations

import keras
from keras import layers, ops

TAPS = tuple((dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1))  # the kernel's taps, row by row


@keras.saving.register_keras_serializable(package="lesionseg")
class DeformableConv2D(layers.Layer):
    """3x3, stride 1, "same" size; kernel of shape (3, 3, C_in, filters) like Conv2D's."""

    def __init__(self, filters: int, kernel_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.offsets = layers.Conv2D(2 * len(TAPS), 3, padding="same", kernel_initializer="zeros",
                                     name="offsets")

    def build(self, input_shape):
        channels = int(input_shape[-1])
        self.offsets.build(input_shape)
        self.kernel = self.add_weight(name="kernel", shape=(3, 3, channels, self.filters),
                                      initializer="glorot_uniform", regularizer=self.kernel_regularizer)
        self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")

    def call(self, x):
        shape = ops.shape(x)
        b, h, w, c = shape[0], shape[1], shape[2], shape[3]
        offsets = ops.cast(self.offsets(x), x.dtype)  # (B, H, W, 2 * taps): dy, dx per tap
        flat = ops.reshape(x, (-1, c))
        ys = ops.cast(ops.reshape(ops.arange(h), (1, h, 1)), x.dtype)
        xs = ops.cast(ops.reshape(ops.arange(w), (1, 1, w)), x.dtype)
        first = ops.reshape(ops.arange(b) * h * w, (b, 1, 1))  # where each image starts in `flat`
        samples = []
        for k, (dy, dx) in enumerate(TAPS):
            py, px = ys + dy + offsets[..., 2 * k], xs + dx + offsets[..., 2 * k + 1]
            y0, x0 = ops.floor(py), ops.floor(px)
            tap = 0.0
            for yy, wy in ((y0, 1 - (py - y0)), (y0 + 1, py - y0)):
                for xx, wx in ((x0, 1 - (px - x0)), (x0 + 1, px - x0)):
                    inside = (yy >= 0) & (yy <= ops.cast(h - 1, x.dtype)) & (xx >= 0) & (xx <= ops.cast(w - 1, x.dtype))
                    yi = ops.cast(ops.clip(yy, 0, ops.cast(h - 1, x.dtype)), "int32")
                    xi = ops.cast(ops.clip(xx, 0, ops.cast(w - 1, x.dtype)), "int32")
                    value = ops.take(flat, first + yi * w + xi, axis=0)  # (B, H, W, C)
                    tap = tap + value * ops.expand_dims(wy * wx * ops.cast(inside, x.dtype), -1)
            samples.append(tap)
        stacked = ops.concatenate(samples, axis=-1)  # (B, H, W, taps * C), tap-major like the kernel's rows
        kernel = ops.reshape(ops.cast(self.kernel, x.dtype), (len(TAPS) * c, self.filters))
        return ops.matmul(stacked, kernel) + ops.cast(self.bias, x.dtype)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.filters)

    def get_config(self):
        return super().get_config() | {"filters": self.filters,
                                       "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer)}
