"""Whether a radial light correction could undo a vignette and leave clean photographs alone (issue "other
cameras' light and colour"; a feasibility check, before any such setting is built).

Each photograph's radial profile, floor and shortfall as lesionseg.vignette measures them (the first version of
this check, of 2026-12-07, measured them on its own; the module since measures the radius as half the field of
view's wider extent, not from its area). The floor is taken over the 34 training photographs of the development
split.
Printed for the 20 validation and held-out photographs clean and under the benchmark's vignettes (0.4, 0.7,
seeded as bench/corruptions.py seeds them: by place in stem order), and for the 34 themselves.

    .venv/bin/python docs/results/ft8/vignette_profiles.py runs/robust2/p1/data
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from lesionseg.corruptions import corrupt
from lesionseg.imageio import read_rgb
from lesionseg.vignette import RINGS, floor_of, radial_profile, shortfall


def main() -> None:
    data = Path(sys.argv[1])
    manifest = pd.read_csv(data / "manifest.csv")
    tables = [pd.read_csv(data / t) for t in ("val_images.csv", "test.csv")]
    scored = sorted(pd.concat(tables)["stem"])  # in the order of the bench, whose seeds follow it
    images = dict(zip(manifest["stem"], manifest["image"], strict=True))
    training = sorted(set(images) - set(scored))
    train_profiles = [radial_profile(read_rgb(Path(images[s]))) for s in training]
    floor = floor_of(train_profiles)
    levels = np.array([p.levels for p in train_profiles if p is not None])
    print("ring outer radius:", " ".join(f"{(k + 1) / RINGS:.1f}" for k in range(RINGS)))
    print("training floor:   ", " ".join(f"{v:.2f}" for v in floor))
    print("training median:  ", " ".join(f"{v:.2f}" for v in np.median(levels, axis=0)))
    own = [shortfall(p, floor) for p in levels]
    print(f"training photographs' own shortfall: median {np.median(own):.3f}, max {max(own):.3f}")
    conditions = (("clean", 0.0), ("vignette", 0.4), ("vignette", 0.7))
    falls = np.zeros((len(conditions), len(scored)))
    for i, stem in enumerate(scored):  # each photograph read once, then each condition made of it
        rgb = read_rgb(Path(images[stem]))
        for c, (name, strength) in enumerate(conditions):
            profile = radial_profile(rgb if name == "clean" else corrupt(rgb, name, strength, i))
            falls[c, i] = shortfall(profile.levels, floor) if profile is not None else np.nan
    for (name, strength), row in zip(conditions, falls, strict=True):
        print(f"{name} {strength:g}: shortfall median {np.median(row):.3f}, min {row.min():.3f}, "
              f"max {row.max():.3f}, photographs over 0.05: {int((row > 0.05).sum())} of {len(row)}, "
              f"over the gate 0.5: {int((row > 0.5).sum())}")


if __name__ == "__main__":
    main()
