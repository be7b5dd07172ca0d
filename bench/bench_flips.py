"""The four flips through OpenVINO: one request after another on every core (LATENCY hint) against
side by side (THROUGHPUT hint, asynchronous requests: what lesionseg.engines.logits_each does), on
the shipped model's ONNX export at a half-scale IDRiD photograph's input size, in rounds taken in turn.

    .venv/bin/python bench/bench_flips.py --rounds 3
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=ROOT / "models" / "idrid-ex-unet8-half")
    ap.add_argument("--height", type=int, default=1440)
    ap.add_argument("--width", type=int, default=2144)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()

    from lesionseg.bundle import Bundle
    from lesionseg.engines import open_network

    net = open_network("openvino", args.model, Bundle.read(args.model), "float32")
    x = np.random.default_rng(0).uniform(0, 255, (1, args.height, args.width, 3)).astype(np.float32)
    views = [x, x[:, :, ::-1], x[:, ::-1], x[:, ::-1, ::-1]]
    runs = {"one after another": lambda: [net.logits(v) for v in views],
            "side by side": lambda: net.logits_each(views)}
    first = {name: run() for name, run in runs.items()}  # compiles both, and checks they agree
    diff = max(float(np.abs(a - b).max()) for a, b in zip(*first.values(), strict=True))
    times = {name: [] for name in runs}
    for _ in range(args.rounds):
        for name, run in runs.items():
            t = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - t)
    base = statistics.median(times["one after another"])
    print(f"four {args.width}x{args.height} passes of {args.model.name}, median of {args.rounds} rounds; "
          f"largest logit difference {diff:.1e}")
    for name, t in times.items():
        print(f"{name:18s} {statistics.median(t):6.2f} s  (rounds: {', '.join(f'{v:.2f}' for v in t)})  "
              f"x {base / statistics.median(t):.2f}")


if __name__ == "__main__":
    main()
