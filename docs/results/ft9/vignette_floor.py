"""Decision 9's floor: the radial light floor that extract_patches.py --vignette auto stores, measured on the
photographs of a workspace that are not held out (all but test.csv's), and each one's own shortfall against it,
so that one can see whether every training photograph is under the gate. Prints the floor as R1,...,R10 on its
last line, for bench/corruptions.py --prep vignette=...

    .venv/bin/python docs/results/ft9/vignette_floor.py runs/robust2/p1/data
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from lesionseg.imageio import read_rgb
from lesionseg.vignette import GATE, floor_of, radial_profile, shortfall


def main() -> None:
    data = Path(sys.argv[1])
    manifest = pd.read_csv(data / "manifest.csv")
    held_out = set(pd.read_csv(data / "test.csv")["stem"])
    kept = manifest[~manifest["stem"].isin(held_out)].sort_values("stem")
    profiles = [radial_profile(read_rgb(Path(p))) for p in kept["image"]]
    floor = floor_of(profiles)
    own = np.array([shortfall(p.levels, floor) for p in profiles if p is not None])
    print(f"{len(own)} photographs; own shortfall median {np.median(own):.3f}, max {own.max():.3f}, "
          f"over the gate {GATE}: {int((own > GATE).sum())}")
    print(",".join(f"{v:g}" for v in floor))


if __name__ == "__main__":
    main()
