"""Seconds per 4288x2848 image with the full default U-Net (random weights) on this machine:
(a) a per-patch predict loop like the paper's code, (b) the faithful batched stitching, (c) the
fast tiled path (float32 and bfloat16), and (d) the fast path at a working scale (`--scale 0.5`:
resampling in and out included), beside each path's floor: its conv FLOPs divided by the
matrix-multiply rate measured in the same run. Peak memory (RSS) at the end.

    .venv/bin/python bench/bench_paths.py [--skip-loop] [--scale 0.5] [--base-filters 8 --depth 6]
Targets: (b) within 1.2x of its floor; (c) >= 8x faster than (a) and <= 8 s per image; < 8 GB.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "data" / "IDRiD" / "A. Segmentation" / "1. Original Images" / "a. Training Set"


def matmul_rate(dtype: str, n: int = 4096, repeats: int = 6) -> float:
    """Sustained GFLOP/s of an n x n x n matrix product: the ceiling the convolutions can reach."""
    import tensorflow as tf

    a = tf.random.normal((n, n), dtype=tf.float32)
    a = tf.cast(a, dtype)
    f = tf.function(lambda x: tf.matmul(x, x))
    f(a).numpy()
    t = time.perf_counter()
    for _ in range(repeats):
        f(a).numpy()
    return 2 * n**3 * repeats / (time.perf_counter() - t) / 1e9


def timed(fn, repeats: int) -> float:
    fn()  # warm-up: tracing and allocation
    t = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - t) / repeats


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--skip-loop", action="store_true", help="skip (a), the slowest")
    ap.add_argument("--tile", type=int, default=4352, help="fast path: largest tile side")
    ap.add_argument("--scale", type=float, default=0.0, help="also time (d): the fast path at this working scale")
    ap.add_argument("--base-filters", type=int, default=16)
    ap.add_argument("--depth", type=int, default=7)
    args = ap.parse_args()
    from lesionseg.quiet import quiet_tensorflow

    quiet_tensorflow()

    import keras
    import numpy as np

    from lesionseg.bundle import Bundle
    from lesionseg.engines import as_network
    from lesionseg.imageio import read_rgb
    from lesionseg.model import build_unet, conv_flops, size_multiple, with_precision
    from lesionseg.predict import Inference, fast_tiles, predict_faithful, predict_fast
    from lesionseg.predictor import Predictor
    from lesionseg.prep import Prep, scaled_size
    from lesionseg.synthetic import fundus
    from lesionseg.tiling import crop, grid

    keras.utils.set_random_seed(0)
    image = read_rgb(REAL / "IDRiD_01.jpg") if REAL.is_dir() else fundus(4288, 2848, 0)[0]
    model = build_unet(args.base_filters, args.depth)
    multiple = size_multiple(args.depth)
    h, w = image.shape[:2]
    cells = grid(h, w, 512, 256)
    rate32, rate16 = matmul_rate("float32"), matmul_rate("bfloat16")
    patch_flops = conv_flops(model, 512, 512)
    fast_flops = sum(conv_flops(model, *shape) for _, _, shape in fast_tiles(h, w, multiple, args.tile))
    print(f"image {w}x{h}, {len(cells)} patches; U-Net {model.count_params():,} parameters, "
          f"{patch_flops / 1e9:.1f} GFLOP per 512 px patch; cpu cores {os.cpu_count()}")
    print(f"matrix-multiply rate: float32 {rate32:.0f} GFLOP/s, bfloat16 {rate16:.0f} GFLOP/s")

    def loop():
        for _, _, y, x in cells:
            model.predict(crop(image, y, x, 512)[None].astype(np.float32), verbose=0)

    results = {}
    if not args.skip_loop:
        results["a"] = timed(loop, args.repeats)
    results["b"] = timed(lambda: predict_faithful(model, image, 512, 256, 8), args.repeats)
    results["c"] = timed(lambda: predict_fast(model, image, multiple, args.tile), args.repeats)
    model16 = with_precision(model, "bfloat16")
    results["c16"] = timed(lambda: predict_fast(model16, image, multiple, args.tile), args.repeats)
    floor_d = 0.0
    if args.scale:
        prep = Prep(args.scale)
        sh, sw = scaled_size(h, w, prep.scale)
        scaled_flops = sum(conv_flops(model, *shape) for _, _, shape in fast_tiles(sh, sw, multiple, args.tile))
        floor_d = scaled_flops / rate32 / 1e9
        predictor = Predictor(as_network(model), Bundle.for_prep(prep), Inference(tile=args.tile))
        results["d"] = timed(lambda: predictor.predict(image), args.repeats)
    floor_b = len(cells) * patch_flops / rate32 / 1e9
    floor_c, floor_c16 = fast_flops / rate32 / 1e9, fast_flops / rate16 / 1e9
    rows = [("a", "per-patch predict loop (paper-like)", floor_b), ("b", "faithful batched stitching", floor_b),
            ("c", "fast tiled, float32", floor_c), ("c16", "fast tiled, bfloat16", floor_c16),
            ("d", f"fast at scale {args.scale:g}, float32", floor_d)]
    for key, name, floor in rows:
        if key in results:
            print(f"({key:3s}) {name:36s} {results[key]:7.2f} s/image   floor {floor:6.2f} s   "
                  f"x floor {results[key] / floor:5.2f}")
    if "d" in results:
        print(f"working scale {args.scale:g} against full resolution (fast, float32): "
              f"{results['c'] / results['d']:.2f}x faster")
    if "a" in results:
        print(f"speed-up over (a): faithful {results['a'] / results['b']:.2f}x, fast float32 "
              f"{results['a'] / results['c']:.2f}x, fast bfloat16 {results['a'] / results['c16']:.2f}x")
    print(f"peak memory (RSS): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2:.2f} GiB")


if __name__ == "__main__":
    main()
