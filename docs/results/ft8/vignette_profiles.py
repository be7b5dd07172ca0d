"""Whether a radial light correction could undo a vignette and leave clean photographs alone (issue "other
cameras' light and colour"; a feasibility check, before any such setting is built).

Each photograph's radial profile: the median of its brightest channel in RINGS rings of equal width from the
field of view's centre to its rim, over the median inside INNER of the radius. The reference is each ring's
10th percentile over the 34 training photographs of the development split (a floor, not a mean, so that a
correction towards it would lift only rims darker than nearly all of them). The shortfall of a photograph is
the most any ring falls below that floor, as a share of the floor: what such a correction would lift by.
Printed for the 20 validation and held-out photographs clean and under the benchmark's vignettes (0.4, 0.7,
seeded as bench/corruptions.py seeds them: by place in stem order), and for the 34 themselves.

    .venv/bin/python docs/results/ft8/vignette_profiles.py runs/robust2/p1/data
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from lesionseg.corruptions import corrupt
from lesionseg.fov import fov_from_image
from lesionseg.imageio import read_rgb

RINGS = 10
INNER = 0.5
SHRINK = 8  # profiles measured on a copy this many times smaller: the light they follow changes slowly


def profile(rgb: np.ndarray) -> np.ndarray:
    lit = fov_from_image(rgb)
    small = cv2.resize(rgb, None, fx=1 / SHRINK, fy=1 / SHRINK, interpolation=cv2.INTER_AREA).max(axis=2)
    inside = cv2.resize(lit.astype(np.uint8), small.shape[::-1], interpolation=cv2.INTER_NEAREST).astype(bool)
    yy, xx = np.nonzero(inside)
    cy, cx, radius = yy.mean(), xx.mean(), np.sqrt(inside.sum() / np.pi)
    r = np.hypot(yy - cy, xx - cx) / radius
    values = small[yy, xx].astype(np.float64)
    level = np.median(values[r < INNER])
    rings = np.minimum((r * RINGS).astype(int), RINGS - 1)
    return np.array([np.median(values[rings == k]) / level for k in range(RINGS)])


def main() -> None:
    data = Path(sys.argv[1])
    manifest = pd.read_csv(data / "manifest.csv")
    tables = [pd.read_csv(data / t) for t in ("val_images.csv", "test.csv")]
    scored = sorted(pd.concat(tables)["stem"])  # in the order of the bench, whose seeds follow it
    images = dict(zip(manifest["stem"], manifest["image"], strict=True))
    training = sorted(set(images) - set(scored))
    train_profiles = np.array([profile(read_rgb(Path(images[s]))) for s in training])
    floor = np.percentile(train_profiles, 10, axis=0)
    print("ring outer radius:", " ".join(f"{(k + 1) / RINGS:.1f}" for k in range(RINGS)))
    print("training floor:   ", " ".join(f"{v:.2f}" for v in floor))
    print("training median:  ", " ".join(f"{v:.2f}" for v in np.median(train_profiles, axis=0)))

    def shortfall(p: np.ndarray) -> float:
        return float(np.max(np.clip(floor / p - 1, 0, None)))

    print(f"training photographs' own shortfall: median {np.median([shortfall(p) for p in train_profiles]):.3f}, "
          f"max {max(shortfall(p) for p in train_profiles):.3f}")
    conditions = (("clean", 0.0), ("vignette", 0.4), ("vignette", 0.7))
    falls = np.zeros((len(conditions), len(scored)))
    for i, stem in enumerate(scored):  # each photograph read once, then each condition made of it
        rgb = read_rgb(Path(images[stem]))
        for c, (name, strength) in enumerate(conditions):
            falls[c, i] = shortfall(profile(rgb if name == "clean" else corrupt(rgb, name, strength, i)))
    for (name, strength), row in zip(conditions, falls, strict=True):
        print(f"{name} {strength:g}: shortfall median {np.median(row):.3f}, min {row.min():.3f}, "
              f"max {row.max():.3f}, photographs over 0.05: {int((row > 0.05).sum())} of {len(row)}")


if __name__ == "__main__":
    main()
