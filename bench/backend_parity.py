"""Does the model and its losses give the same numbers on another Keras backend?

The U-Net and the losses are written with Keras layers and keras.ops only. This script checks it:
`--write DIR` (on TensorFlow) saves a small U-Net's weights, a fixed input, its logits and the
losses' values; `--check DIR` (under any KERAS_BACKEND: jax, torch) loads the weights into the same
architecture, recomputes everything, prints the largest differences and their ratio to float32
rounding, then trains a few steps to show that fitting works on that backend as well.

    .venv/bin/python bench/backend_parity.py --write ref/
    KERAS_BACKEND=jax python bench/backend_parity.py --check ref/
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

FILTERS, DEPTH, SIZE = 8, 5, 128


def case():
    """Deterministic inputs: an image batch and a sparse lesion mask."""
    import numpy as np

    rng = np.random.default_rng(0)
    image = rng.uniform(0, 255, (2, SIZE, SIZE, 3)).astype(np.float32)
    mask = (rng.uniform(size=(2, SIZE, SIZE, 1)) < 0.02).astype(np.float32)
    return image, mask


def losses_of(logits, mask) -> dict[str, float]:
    import keras

    from lesionseg.losses import make_loss

    return {name: float(keras.ops.convert_to_numpy(make_loss(name, 3.0)(mask, logits)))
            for name in ("wbce", "wbce_dice")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    group = ap.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", type=Path, help="folder for the reference (run on TensorFlow)")
    group.add_argument("--check", type=Path, help="folder holding a reference")
    ap.add_argument("--steps", type=int, default=30, help="training steps of the fitting check")
    args = ap.parse_args()

    import keras
    import numpy as np

    from lesionseg.losses import dice_metric, make_loss
    from lesionseg.model import build_unet

    backend = keras.backend.backend()
    image, mask = case()
    keras.utils.set_random_seed(1)
    model = build_unet(FILTERS, DEPTH, l2=0.0)
    if args.write:
        args.write.mkdir(parents=True, exist_ok=True)
        model.save_weights(args.write / "unet.weights.h5")
        logits = keras.ops.convert_to_numpy(model(image, training=False))
        np.savez(args.write / "reference.npz", logits=logits, **losses_of(logits, mask))
        print(f"{backend}: reference written to {args.write}/ (U-Net {FILTERS} x {DEPTH}, {SIZE} px)")
        return

    ref = np.load(args.check / "reference.npz")
    model.load_weights(args.check / "unet.weights.h5")
    logits = keras.ops.convert_to_numpy(model(image, training=False))
    scale = float(np.abs(ref["logits"]).max())
    diff = float(np.abs(logits - ref["logits"]).max())
    print(f"backend {backend} against tensorflow: logits max |diff| {diff:.3g} "
          f"({diff / scale:.2e} of the largest logit; float32 rounding is {np.finfo(np.float32).eps:.1e})")
    # the losses on the reference logits isolate the loss code from the network's arithmetic
    mine = losses_of(ref["logits"], mask)
    for name, value in mine.items():
        print(f"  {name}: {value:.7f} here, {float(ref[name]):.7f} on tensorflow, "
              f"relative diff {abs(value - float(ref[name])) / abs(float(ref[name])):.2e}")
    model = build_unet(FILTERS, DEPTH, l2=1e-5)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss=make_loss("wbce", 3.0), metrics=[dice_metric()])
    t = time.perf_counter()
    hist = model.fit(image, mask, batch_size=2, epochs=args.steps, verbose=0)
    losses = hist.history["loss"]
    print(f"  fitting on {backend} ({os.environ.get('KERAS_BACKEND', 'default')}): loss {losses[0]:.4f} -> "
          f"{losses[-1]:.4f} in {args.steps} steps, {time.perf_counter() - t:.1f} s")


if __name__ == "__main__":
    main()
