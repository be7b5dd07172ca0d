"""Pack what the paper's GPU run needs into carry/ (git-ignored), to send with the checkout to a
machine that has neither the dataset nor internet access (tools/paper_run.sh):

    carry/IDRiD/      the IDRiD photographs and hard-exudate masks, training and testing, in the
                      dataset's own layout (about 36 MB; copies, not links, since links do not travel)
    carry/wheels/     the Keras wheel and the small pure-Python wheels it needs, for a machine with
                      JAX but without Keras (--wheels; needs PyPI here)

    .venv/bin/python tools/pack_paper_data.py --raw ../shared/data/IDRiD [--wheels] [--limit 4 2]

--limit TRAIN TEST keeps only the first photographs of each set: the toy run on this CPU.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMAGES = Path("A. Segmentation") / "1. Original Images"
MASKS = Path("A. Segmentation") / "2. All Segmentation Groundtruths"
SETS = ("a. Training Set", "b. Testing Set")
EX = "3. Hard Exudates"
WHEELS = ("keras", "absl-py", "namex", "optree", "rich", "markdown-it-py", "mdurl", "pygments", "h5py")


def copy_layout(raw: Path, out: Path, limit: tuple[int, int] | None) -> int:
    """Copy each set's photographs and their EX masks (paired by stem); returns bytes copied."""
    total = 0
    for k, part in enumerate(SETS):
        photos = sorted((raw / IMAGES / part).glob("*.jpg"))
        if not photos:
            sys.exit(f"error: {raw / IMAGES / part}: no photographs; pass --raw with the IDRiD folder")
        if limit:
            photos = photos[: limit[k]]
        masks = {p.stem.removesuffix("_EX"): p for p in sorted((raw / MASKS / part / EX).glob("*_EX.tif"))}
        for photo in photos:
            pairs = [(photo, out / IMAGES / part / photo.name)]
            if photo.stem in masks:  # a photograph without exudates has no mask file
                pairs.append((masks[photo.stem], out / MASKS / part / EX / masks[photo.stem].name))
            for src, dst in pairs:
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, dst)
                total += dst.stat().st_size
    return total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--raw", type=Path, required=True, help="the IDRiD folder (with 'A. Segmentation')")
    ap.add_argument("--out", type=Path, default=ROOT / "carry")
    ap.add_argument("--limit", type=int, nargs=2, metavar=("TRAIN", "TEST"), default=None)
    ap.add_argument("--wheels", action="store_true", help="also download Keras' wheels into OUT/wheels")
    args = ap.parse_args()
    data = args.out / "IDRiD"
    if data.exists():
        shutil.rmtree(data)
    size = copy_layout(args.raw, data, tuple(args.limit) if args.limit else None)
    print(f"{data}: {size / 2**20:.1f} MiB")
    if args.wheels:
        wheels = args.out / "wheels"
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                        "--dest", str(wheels), *WHEELS], check=True)
        print(f"{wheels}: {sum(p.stat().st_size for p in wheels.iterdir()) / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
