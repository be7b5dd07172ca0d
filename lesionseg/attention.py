"""The pieces of the CFFA-CBAM U-Net (the vessel slides of the project's sources): coarse-fine feature
aggregation in the encoder and a convolutional block attention module (CBAM) at the bridge.

CFFA runs a fine branch (3x1 then 1x3) beside a coarse one (7x7 then 1x1) and mixes them with a 1x1
conv, so a thin vessel and the wide context around it are both seen at every level. CBAM weighs the
bottom features first per channel (a shared two-layer perceptron on their average and maximum), then
per pixel (a 7x7 conv on the channel average and maximum). Plain Keras layers and `keras.ops`, so
they run on any backend and export to ONNX.
"""

from __future__ import annotations

import keras
from keras import layers


@keras.saving.register_keras_serializable(package="lesionseg")
class ChannelPool(layers.Layer):
    """The mean and the maximum over channels, side by side: CBAM's two spatial descriptors."""

    def call(self, x):
        return keras.ops.concatenate([keras.ops.mean(x, axis=-1, keepdims=True),
                                      keras.ops.max(x, axis=-1, keepdims=True)], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], 2)


def _conv_bn_relu(x, filters: int, kernel, l2: float, name: str):
    reg = keras.regularizers.L2(l2) if l2 else None
    x = layers.Conv2D(filters, kernel, padding="same", kernel_regularizer=reg, name=name)(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def cffa(x, filters: int, l2: float, name: str):
    """Coarse-fine feature aggregation; the first conv is `{name}_conv1`, as in the plain U-Net's
    block, so the width of either network is read the same way."""
    fine = _conv_bn_relu(x, filters, (3, 1), l2, f"{name}_conv1")
    fine = _conv_bn_relu(fine, filters, (1, 3), l2, f"{name}_conv2")
    coarse = _conv_bn_relu(x, filters, 7, l2, f"{name}_coarse1")
    coarse = _conv_bn_relu(coarse, filters, 1, l2, f"{name}_coarse2")
    both = layers.Concatenate(name=f"{name}_join")([fine, coarse])
    return _conv_bn_relu(both, filters, 1, l2, f"{name}_mix")


def cbam(x, name: str, ratio: int = 8):
    """Channel attention, then spatial attention; the output has the input's shape."""
    channels = int(x.shape[-1])
    squeeze = layers.Dense(max(1, channels // ratio), activation="relu", kernel_initializer="he_normal",
                           name=f"{name}_mlp1")
    excite = layers.Dense(channels, kernel_initializer="he_normal", name=f"{name}_mlp2")
    avg = excite(squeeze(layers.GlobalAveragePooling2D(keepdims=True, name=f"{name}_avg")(x)))
    peak = excite(squeeze(layers.GlobalMaxPooling2D(keepdims=True, name=f"{name}_max")(x)))
    weights = layers.Activation("sigmoid", name=f"{name}_channel_gate")(layers.Add(name=f"{name}_sum")([avg, peak]))
    x = layers.Multiply(name=f"{name}_channel")([x, weights])
    where = layers.Conv2D(1, 7, padding="same", activation="sigmoid", use_bias=False, kernel_initializer="he_normal",
                          name=f"{name}_spatial_gate")(ChannelPool(name=f"{name}_pool")(x))
    return layers.Multiply(name=f"{name}_spatial")([x, where])
