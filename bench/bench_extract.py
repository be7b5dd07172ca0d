"""Wall seconds per 4288x2848 image for gt_binary + extract_patches, beside a plain crop-and-save
loop like the paper's code (every patch saved, JPEG mask, one process), on the same real images.

    .venv/bin/python bench/bench_extract.py [--n-images 12]
Target: at most 1 s per image for the pipeline on a 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
IDRID = ROOT.parent / "shared" / "data" / "IDRiD" / "A. Segmentation"
IMG = IDRID / "1. Original Images" / "a. Training Set"
EX = IDRID / "2. All Segmentation Groundtruths" / "a. Training Set" / "3. Hard Exudates"


def paper_like(stems: list[str], out: Path) -> None:
    """The seed code's flow: threshold masks to JPEG, crop all 160 patches per image, save, then drop negatives."""
    (out / "gt").mkdir(parents=True)
    (out / "patches").mkdir()
    (out / "labels").mkdir()
    for s in stems:
        gray = Image.open(EX / f"{s}_EX.tif").convert("L")
        gray.point(lambda x: 0 if x < 50 else 255, "1").save(out / "gt" / f"{s}_EX.jpg", "JPEG", quality=100)
    negatives, positives = [], 0
    for s in stems:
        mask, img = Image.open(out / "gt" / f"{s}_EX.jpg"), Image.open(IMG / f"{s}.jpg")
        pid = 0
        for i in range(10):
            for j in range(16):
                y, x = (2336 if i == 9 else i * 256), (3776 if j == 15 else j * 256)
                m, d = mask.crop((x, y, x + 512, y + 512)), img.crop((x, y, x + 512, y + 512))
                m.save(out / "labels" / f"{s}_p{pid}.tif", "TIFF")
                d.save(out / "patches" / f"{s}_p{pid}.jpg", "JPEG", quality=100)
                if np.sum(np.array(m)) < 100:
                    negatives.append(s + str(pid))
                else:
                    positives += 1
                pid += 1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n-images", type=int, default=12)
    args = ap.parse_args()
    if not IMG.is_dir():
        sys.exit(f"real data not found at {IDRID}")
    stems = [p.stem for p in sorted(IMG.glob("*.jpg"))][: args.n_images]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        raw = tmp / "raw"
        (raw / "images").mkdir(parents=True)
        (raw / "masks").mkdir()
        for s in stems:
            os.symlink(IMG / f"{s}.jpg", raw / "images" / f"{s}.jpg")
            os.symlink(EX / f"{s}_EX.tif", raw / "masks" / f"{s}.tif")
        env = {**os.environ, "TQDM_DISABLE": "1"}
        t0 = time.perf_counter()
        for script, extra in (("gt_binary.py", ["--raw", str(raw)]), ("extract_patches.py", [])):
            subprocess.run([sys.executable, str(ROOT / script), "--data", str(tmp / "ws"), *extra], check=True,
                           env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ours = (time.perf_counter() - t0) / len(stems)
        t0 = time.perf_counter()
        paper_like(stems, tmp / "paper")
        base = (time.perf_counter() - t0) / len(stems)
        kept = len(list((tmp / "ws" / "patches" / "images").iterdir()))
        shutil.rmtree(tmp / "paper")
    print(f"images: {len(stems)} real IDRiD 4288x2848, cpu cores: {os.cpu_count()}")
    print(f"pipeline (gt_binary + extract_patches): {ours:.3f} s/image  ({kept} patches kept)")
    print(f"paper-like crop-and-save loop:          {base:.3f} s/image  (160 patches saved per image)")
    print(f"speed-up: {base / ours:.2f}x   target <= 1 s/image: {'met' if ours <= 1 else 'NOT met'}")


if __name__ == "__main__":
    main()
