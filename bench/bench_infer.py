"""Seconds per photograph of infer.py, end to end, with each inference engine (lesionseg.engines), and
where the time goes: decoding, preparation (working scale, CLAHE), the network (flips included, when
the model stores TTA), resampling back to the photograph's size, and writing the PNGs. Every engine
runs the same code (lesionseg.segmenting, the one infer.py runs), in rounds taken in turn, so that
the ratios compare within this run. "sequential" runs the steps one after another, as infer.py did
before lesionseg.batch.pipelined; "pipelined" is infer.py now. The network's floor is its
convolution FLOPs at this machine's float32 matrix-multiply rate, measured in the same run (the
faster of TensorFlow's and NumPy's BLAS).

    .venv/bin/python bench/bench_infer.py [--model models/idrid-ex-unet8-half] [--images 3] [--rounds 2]
Target: the fastest engine, pipelined, at least 3x faster than TensorFlow sequential, the same maps
(within 1e-3, masks differing on under 0.01% of pixels).
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTING = ROOT.parent / "shared" / "data" / "IDRiD" / "A. Segmentation" / "1. Original Images" / "b. Testing Set"
STAGES = ("decode", "prepare", "network", "resample", "write")


def photographs(count: int, folder: Path) -> list[Path]:
    """The first IDRiD testing photographs when the data is there, else synthetic 4288 x 2848 ones."""
    if TESTING.is_dir():
        return sorted(TESTING.glob("*.jpg"))[:count]
    from PIL import Image

    from lesionseg.synthetic import fundus

    paths = []
    for k in range(count):
        paths.append(folder / f"synthetic_{k}.jpg")
        Image.fromarray(fundus(4288, 2848, k)[0]).save(paths[-1], quality=95)
    return paths


def blas_rate(n: int = 4096, repeats: int = 5) -> float:
    """Sustained float32 GFLOP/s of NumPy's matrix product (OpenBLAS): often above TensorFlow's."""
    import numpy as np

    a = np.random.default_rng(0).random((n, n), np.float32)
    a @ a
    t = time.perf_counter()
    for _ in range(repeats):
        a @ a
    return 2 * n**3 * repeats / (time.perf_counter() - t) / 1e9


def staged(segmenter, paths: list[Path]) -> dict[str, float]:
    """Seconds per photograph in each stage, the stages run one after another."""
    from lesionseg.imageio import read_rgb

    spent = dict.fromkeys(STAGES, 0.0)
    for path in paths:
        t = [time.perf_counter()]
        image = read_rgb(path)
        t.append(time.perf_counter())
        loaded = segmenter.prepare(path, image)
        t.append(time.perf_counter())
        prob = segmenter.compute(path, loaded)
        t.append(time.perf_counter())
        prob = segmenter.resample(loaded, prob)
        t.append(time.perf_counter())
        segmenter.save(loaded, prob, path.stem)
        t.append(time.perf_counter())
        for stage, a, b in zip(STAGES, t, t[1:], strict=False):
            spent[stage] += (b - a) / len(paths)
    return spent


def pipelined_seconds(segmenter, paths: list[Path]) -> float:
    from lesionseg.batch import pipelined

    def failed(path, exc):
        raise exc

    t = time.perf_counter()
    for _ in pipelined(paths, segmenter.read, segmenter.compute, segmenter.write, failed):
        pass
    return (time.perf_counter() - t) / len(paths)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=ROOT / "models" / "idrid-ex-unet8-half")
    ap.add_argument("--images", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--engines", nargs="+", default=None, help="default: tensorflow and every installed one")
    args = ap.parse_args()
    from lesionseg.quiet import quiet_tensorflow

    quiet_tensorflow()
    import numpy as np
    from bench_paths import matmul_rate

    from lesionseg.checkpoints import load_trained
    from lesionseg.engines import ENGINES, current_export, installed
    from lesionseg.export import export_onnx
    from lesionseg.imageio import read_rgb
    from lesionseg.model import conv_flops
    from lesionseg.predictor import Predictor
    from lesionseg.segmenting import Segmenter

    engines = args.engines or [e for e in ENGINES if installed(e)]
    work = Path(tempfile.mkdtemp(prefix="bench_infer_"))
    try:
        model = work / "model"
        shutil.copytree(args.model, model)
        from lesionseg.bundle import Bundle

        if current_export(model, Bundle.read(model)) is None and len(engines) > 1:
            export_onnx(model)  # beside the copy: neither the shipped folder nor the user's cache is touched
        paths = photographs(args.images, work)
        segmenters = {}
        for engine in engines:
            predictor = Predictor.load(model, engine=engine)
            segmenters[engine] = Segmenter((predictor,), predictor.bundle.threshold_values(), work / engine)
            staged(segmenters[engine], paths[:1])  # warm-up: graph tracing, compilation for this shape
        first = segmenters[engines[0]].predictor
        image = read_rgb(paths[0])
        prepared = first.prepare(image)
        multiple = first.network.multiple
        padded = [-(-side // multiple) * multiple for side in prepared.shape[:2]]
        passes = first.inference.passes  # flips and scales, in working-scale images
        flops = passes * conv_flops(load_trained(model), *padded)
        rate = max(matmul_rate("float32"), blas_rate())
        source = "IDRiD testing" if TESTING.is_dir() else "synthetic"
        print(f"{len(paths)} photographs of {image.shape[1]}x{image.shape[0]} ({source}); "
              f"model {args.model.name}: network input {padded[1]}x{padded[0]}, {passes:g} pass(es), "
              f"{flops / 1e9:.0f} GFLOP per photograph; float32 matmul {rate:.0f} GFLOP/s -> network floor "
              f"{flops / rate / 1e9:.2f} s")
        stages = {e: [] for e in engines}
        piped = {e: [] for e in engines}
        for _ in range(args.rounds):
            for engine in engines:
                stages[engine].append(staged(segmenters[engine], paths))
                piped[engine].append(pipelined_seconds(segmenters[engine], paths))
        median = {e: {s: statistics.median(r[s] for r in stages[e]) for s in STAGES} for e in engines}
        base = sum(median["tensorflow"].values()) if "tensorflow" in median else None
        print(f"\n{'engine':12s} " + " ".join(f"{s:>9s}" for s in STAGES) + f" {'sequential':>11s} {'pipelined':>10s}"
              f" {'x tf seq':>9s}")
        for engine in engines:
            seq, pipe = sum(median[engine].values()), statistics.median(piped[engine])
            ratio = f"{base / pipe:9.2f}" if base else ""
            print(f"{engine:12s} " + " ".join(f"{median[engine][s]:9.2f}" for s in STAGES) +
                  f" {seq:11.2f} {pipe:10.2f} {ratio}")
        reference = segmenters.get("tensorflow")
        if reference:
            truth = reference.predictor.predict(image)
            threshold = reference.thresholds[0]
            for engine in engines[1:]:
                prob = segmenters[engine].predictor.predict(image)
                print(f"{engine}: largest probability difference from tensorflow {np.abs(prob - truth).max():.1e}; "
                      f"mask pixels differing at {threshold:.3f}: "
                      f"{((prob >= threshold) != (truth >= threshold)).mean():.5%}")
        print(f"peak memory (RSS, all engines in one process): "
              f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2:.2f} GiB")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
