"""Decision 15's reference: the median green-to-red balance that extract_patches.py --gamma auto stores, measured
on the photographs of a workspace that are not held out (all but test.csv's), and the largest gamma it estimates
for any of them, so that one can see whether every training photograph is under the gate. Prints the reference
on its last line, for bench/corruptions.py --prep gamma_reference=...

    .venv/bin/python docs/results/ft10/gamma_reference.py runs/robust2/p1/data
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from lesionseg.imageio import read_rgb
from lesionseg.tonegate import GATE, balance, estimated_gamma, reference_of


def main() -> None:
    data = Path(sys.argv[1])
    manifest = pd.read_csv(data / "manifest.csv")
    kept = manifest[~manifest["stem"].isin(set(pd.read_csv(data / "test.csv")["stem"]))].sort_values("stem")
    balances = [balance(read_rgb(Path(p))) for p in kept["image"]]
    reference = reference_of(balances)
    own = np.array([estimated_gamma(b, reference) for b in balances if b is not None])
    print(f"{len(own)} photographs; own estimated gamma median {np.median(own):.3f}, max {own.max():.3f}, "
          f"over the gate {GATE}: {int((own > GATE).sum())}")
    print(f"{reference:g}")


if __name__ == "__main__":
    main()
