"""The threshold sweep (histogram counts) against scikit-learn's precision_recall_curve on the
same pixels: time and AUPR. Probabilities lie on the 1/1000 grid so both see the same thresholds.

    .venv/bin/python bench/bench_metrics.py [--megapixels 48]
Targets: at least 10x faster; the same AUPR to 1e-6.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--megapixels", type=float, default=48.0, help="about four 4288x2848 images")
    args = ap.parse_args()
    from sklearn.metrics import auc, precision_recall_curve

    from lesionseg.metrics import ThresholdCounts, average_precision

    rng = np.random.default_rng(0)
    n = int(args.megapixels * 1e6)
    truth = rng.random(n, dtype=np.float32) < 0.005  # IDRiD EX: about 0.3% lesion pixels
    prob = np.clip(rng.normal(0.2 + 0.5 * truth, 0.15), 0, 1)
    prob = (np.arange(1001) / 1000)[np.round(prob * 1000).astype(int)]  # exactly the thresholds k / 1000
    images = np.array_split(np.arange(n), 4)

    t = time.perf_counter()
    counts = ThresholdCounts(1000)
    for idx in images:
        counts.add(prob[idx], truth[idx])
    ours = average_precision(counts)
    t_ours = time.perf_counter() - t

    t = time.perf_counter()
    precision, recall, _ = precision_recall_curve(truth, prob)
    theirs = -np.sum(np.diff(recall) * precision[:-1])  # step-wise AP, as average_precision_score
    t_sk = time.perf_counter() - t
    print(f"pixels: {n / 1e6:.0f} M in 4 images")
    print(f"histogram sweep:              {t_ours:6.2f} s   AUPR {ours:.8f}")
    print(f"sklearn precision_recall_curve: {t_sk:6.2f} s   AUPR {theirs:.8f}"
          f"   (trapezoid {auc(recall, precision):.6f})")
    print(f"speed-up {t_sk / t_ours:.1f}x (target >= 10x); |AUPR difference| {abs(ours - theirs):.2e} (target <= 1e-6)")


if __name__ == "__main__":
    main()
