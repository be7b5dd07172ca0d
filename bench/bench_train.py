"""Training throughput through the real tf.data pipeline (decode + augmentation from patch files)
against the same model stepping on one batch already in memory, in the same run, plus peak memory.

    .venv/bin/python bench/bench_train.py [--base-filters 16 --depth 7 --steps 4]
    .venv/bin/python bench/bench_train.py --base-filters 8 --depth 6 --sampling crops --patch-size 256 \
        --mixed-precision mixed_bfloat16
Target: the pipeline keeps the model at least 95% busy (pipeline rate / in-memory rate >= 0.95).
`--architectures unet,deformable` also times each further architecture's in-memory step and prints its
ratio to the first one's, measured in the same run (what an equal-time comparison gives each one).
Patches come from a synthetic workspace made here (4288x2848 scaled like the images: 512 px patches
by default; `--sampling crops` draws fresh crops from the whole images held in memory instead).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class StepTimer:
    """Seconds of each training step after the first (which includes tracing)."""

    def __init__(self):
        import keras

        class CB(keras.callbacks.Callback):
            def on_train_batch_begin(cb, batch, logs=None):
                cb.t = time.perf_counter()

            def on_train_batch_end(cb, batch, logs=None):
                self.times.append(time.perf_counter() - cb.t)

        self.times: list[float] = []
        self.callback = CB()

    def mean_after_warmup(self, warmup: int) -> float:
        return sum(self.times[warmup:]) / len(self.times[warmup:])


def make_patches(root: Path, patch: int) -> Path:
    """A synthetic workspace, made by the stage scripts as a user would run them."""
    ws = str(root / "ws")
    for script, *flags in (
        ("make_demo_data.py", "--out", str(root / "raw"), "--n-images", "6", "--size", "1424x944"),
        ("gt_binary.py", "--raw", str(root / "raw"), "--data", ws),
        ("extract_patches.py", "--data", ws, "--neg-per-pos", "-1", "--patch-size", str(patch),
         "--stride", str(patch // 2)),
        ("traintest_split.py", "--data", ws, "--val-fraction", "0"),
    ):
        subprocess.run([sys.executable, str(ROOT / script), *flags], check=True, stdout=subprocess.DEVNULL)
    return root / "ws"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--base-filters", type=int, default=16)
    ap.add_argument("--depth", type=int, default=7)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--steps", type=int, default=4, help="timed steps (one more is run first as warm-up)")
    ap.add_argument("--mixed-precision", default="off", choices=["off", "mixed_bfloat16", "mixed_float16"])
    ap.add_argument("--sampling", default="grid", choices=["grid", "crops"])
    ap.add_argument("--patch-size", type=int, default=512)
    ap.add_argument("--architectures", default="unet",
                    help="comma-separated: the first is measured through the pipeline too, the others in memory "
                         "against it")
    args = ap.parse_args()
    architectures = args.architectures.split(",")
    from lesionseg.quiet import quiet_tensorflow

    quiet_tensorflow()

    import keras
    import tensorflow as tf

    from lesionseg.losses import WeightedBCE, dice_metric
    from lesionseg.model import build_unet
    from lesionseg.pipeline import Augment, load_patch_table, training_dataset

    keras.utils.set_random_seed(0)
    keras.mixed_precision.set_dtype_policy("float32" if args.mixed_precision == "off" else args.mixed_precision)
    tf.config.experimental.enable_op_determinism()  # as train.py does
    with tempfile.TemporaryDirectory() as tmp:
        ws = make_patches(Path(tmp), args.patch_size)
        imgs, masks = load_patch_table(ws / "train.csv", ws)
        steps = args.steps + 1
        per_epoch = steps * args.batch_size
        aug = Augment(True, 0.1, 0.02)
        if args.sampling == "crops":
            from lesionseg.crops import crop_dataset, load_bank
            from lesionseg.prep import Prep

            bank = load_bank(ws / "train.csv", ws, Prep())
            pipe = crop_dataset(bank, args.patch_size, args.batch_size, 0, 0, 1, per_epoch, 0.5, aug)
        else:
            pipe = training_dataset(imgs, masks, args.batch_size, 0, 0, 1, aug, per_epoch=per_epoch)
        x, y = next(iter(pipe))
        memory = tf.data.Dataset.from_tensors((x, y)).repeat()
        def step_seconds(architecture: str, ds) -> tuple[float, keras.Model]:
            model = build_unet(args.base_filters, args.depth, architecture=architecture)
            model.compile(keras.optimizers.Adam(1e-4), WeightedBCE(3.0), metrics=[dice_metric()])
            timer = StepTimer()
            model.fit(ds, epochs=1, steps_per_epoch=steps, callbacks=[timer.callback], verbose=0)
            return timer.mean_after_warmup(1), model

        rates = {}
        for name, ds in (("in-memory batch", memory), ("tf.data pipeline", pipe)):
            sec, model = step_seconds(architectures[0], ds)
            rates[name] = args.batch_size / sec
            print(f"{name:17s}: {sec:7.3f} s per batch of {args.batch_size}  = {rates[name]:7.2f} patches/s")
        for architecture in architectures[1:]:
            sec, other = step_seconds(architecture, memory)
            ratio = sec * rates["in-memory batch"] / args.batch_size  # against the first one's in-memory step
            print(f"{architecture} in memory: {sec:7.3f} s per batch, {ratio:.2f}x a {architectures[0]} step "
                  f"({other.count_params():,} parameters)")
        busy = rates["tf.data pipeline"] / rates["in-memory batch"]
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
        print(f"model: {architectures[0]}, {args.base_filters} filters x {args.depth} levels, "
              f"{model.count_params():,} parameters, precision {args.mixed_precision}; "
              f"{args.sampling}, {args.patch_size} px; cpu cores {os.cpu_count()}")
        verdict = "met" if busy >= 0.95 else "NOT met"
        print(f"pipeline keeps the model {100 * busy:.1f}% busy (target >= 95%): {verdict}")
        print(f"peak memory (RSS): {peak:.2f} GiB")


if __name__ == "__main__":
    main()
