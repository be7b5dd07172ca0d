"""The paper's U-Net in plain Keras layers, so it runs on any Keras backend.

Input is raw 0..255 RGB, scaled to [-1, 1] inside the model (x / 127.5 - 1, as the paper's code).
Each level: two (3x3 conv, batch norm, ReLU); 2x2 max pooling down; 2x2 stride-2 transposed conv
up, concatenated with the skip; a final 1x1 conv gives one logit per pixel and lesion (float32
always): one output channel per lesion, each its own sigmoid, since lesions may overlap.

Architecture "cffa_cbam" (lesionseg.attention) swaps each encoder block for coarse-fine feature
aggregation and puts a CBAM attention module after the bottom block; the decoder stays the same. The
Architecture "deformable" makes the second conv of each encoder block below the first level a
deformable one (lesionseg.deformable: each tap moved by a learnt offset), the slides' deformable
encoder. The architecture is read back from the saved model itself (its name), so nothing else has
to store it.
"""

from __future__ import annotations

import keras
from keras import layers

from .attention import cbam, cffa
from .deformable import DeformableConv2D

ARCHITECTURES = ("unet", "cffa_cbam", "deformable")


def _block(x, filters: int, l2: float, name: str):
    for i in (1, 2):
        x = layers.Conv2D(filters, 3, padding="same", kernel_regularizer=keras.regularizers.L2(l2) if l2 else None,
                          name=f"{name}_conv{i}")(x)
        x = layers.BatchNormalization(name=f"{name}_bn{i}")(x)
        x = layers.ReLU(name=f"{name}_relu{i}")(x)
    return x


def _deformable_block(x, filters: int, l2: float, name: str):
    """The plain block with its second conv deformable (full resolution keeps the plain one: four
    gathers per tap cost most where the maps are largest)."""
    if name == "down1":
        return _block(x, filters, l2, name)
    reg = keras.regularizers.L2(l2) if l2 else None
    x = layers.Conv2D(filters, 3, padding="same", kernel_regularizer=reg, name=f"{name}_conv1")(x)
    x = layers.ReLU(name=f"{name}_relu1")(layers.BatchNormalization(name=f"{name}_bn1")(x))
    x = DeformableConv2D(filters, kernel_regularizer=reg, name=f"{name}_deform2")(x)
    return layers.ReLU(name=f"{name}_relu2")(layers.BatchNormalization(name=f"{name}_bn2")(x))


ENCODER_BLOCKS = {"unet": _block, "cffa_cbam": cffa, "deformable": _deformable_block}


def build_unet(base_filters: int = 16, depth: int = 7, l2: float = 1e-5, outputs: int = 1,
               architecture: str = "unet") -> keras.Model:
    """Any input whose sides are multiples of 2**(depth-1) works, not only 512x512 patches."""
    if depth < 2 or base_filters < 1:
        raise ValueError("depth must be >= 2 and base_filters >= 1")
    if architecture not in ARCHITECTURES:
        raise ValueError(f"architecture must be one of {', '.join(ARCHITECTURES)}, not {architecture!r}")
    down = ENCODER_BLOCKS[architecture]
    inputs = keras.Input((None, None, 3), name="image")
    x = layers.Rescaling(1 / 127.5, offset=-1.0, name="scale")(inputs)
    skips = []
    for level in range(depth - 1):
        x = down(x, base_filters * 2**level, l2, f"down{level + 1}")
        skips.append(x)
        x = layers.MaxPooling2D(2, name=f"pool{level + 1}")(x)
    x = _block(x, base_filters * 2 ** (depth - 1), l2, "bottom")
    if architecture == "cffa_cbam":
        x = cbam(x, "bridge")
    for level in reversed(range(depth - 1)):
        f = base_filters * 2**level
        x = layers.Conv2DTranspose(f, 2, strides=2, kernel_regularizer=keras.regularizers.L2(l2) if l2 else None,
                                   name=f"up{level + 1}")(x)
        x = layers.Concatenate(name=f"skip{level + 1}")([x, skips[level]])
        x = _block(x, f, l2, f"dec{level + 1}")
    logits = layers.Conv2D(outputs, 1, dtype="float32", name="logits")(x)
    return keras.Model(inputs, logits, name=f"{architecture}_f{base_filters}_d{depth}")


def size_multiple(depth: int) -> int:
    return 2 ** (depth - 1)


def conv_flops(model: keras.Model, height: int, width: int) -> float:
    """Forward multiply-adds x 2 of the conv layers for an HxW input (what the matrix units do)."""
    total = 0.0
    scale = 1
    for layer in model.layers:
        if isinstance(layer, layers.MaxPooling2D):
            scale *= 2
        if isinstance(layer, layers.Conv2DTranspose):
            scale //= 2
            kh, kw, cout, cin = layer.kernel.shape
            total += 2 * kh * kw * cin * cout * (height // scale // 2) * (width // scale // 2)
        elif isinstance(layer, DeformableConv2D):  # its offset conv, then the moved taps' 3x3 kernel
            kh, kw, cin, cout = layer.kernel.shape
            taps = layer.offsets.kernel.shape[-1]
            total += 2 * kh * kw * cin * (cout + taps) * (height // scale) * (width // scale)
        elif isinstance(layer, layers.Conv2D):
            kh, kw, cin, cout = layer.kernel.shape
            total += 2 * kh * kw * cin * cout * (height // scale) * (width // scale)
    return total


def model_depth(model: keras.Model) -> int:
    """Levels of a U-Net built by build_unet (pooling layers + 1)."""
    return 1 + sum(isinstance(layer, keras.layers.MaxPooling2D) for layer in model.layers)


def model_architecture(model: keras.Model) -> str:
    """The architecture a model was built with, from the name build_unet gave it."""
    return next((a for a in ARCHITECTURES if model.name.startswith(f"{a}_f")), "unet")


def model_outputs(model: keras.Model) -> int:
    """Output channels: one per lesion."""
    return int(model.output_shape[-1])


def input_multiple(model: keras.Model) -> int:
    """What the model's input sides must be a multiple of."""
    return size_multiple(model_depth(model))


def rebuild(model: keras.Model) -> keras.Model:
    """A fresh U-Net of the same shape carrying the model's weights, built under the current dtype
    policy, without optimizer state or regularisers."""
    twin = build_unet(model.get_layer("down1_conv1").filters, model_depth(model), l2=0.0,
                      outputs=model_outputs(model), architecture=model_architecture(model))
    twin.set_weights(model.get_weights())
    return twin


def with_precision(model: keras.Model, precision: str) -> keras.Model:
    """The same U-Net computing in bfloat16 (CPU) or float16 (GPU); logits stay float32."""
    if precision == "float32":
        return model
    previous = keras.mixed_precision.dtype_policy()
    keras.mixed_precision.set_dtype_policy(f"mixed_{precision}")
    try:
        return rebuild(model)
    finally:
        keras.mixed_precision.set_dtype_policy(previous)
