"""infer.py now against infer.py as it was when screening at scale was asked for (the parent of the
first commit of that work, TensorFlow, one photograph after another: about 20.6 s a photograph
then), both run as a user runs them, on the same photographs, in turns, in this one run.

Each version runs as its own process from its own tree (the old one from `git archive`), on K
photographs and on one; the difference over K - 1 is the steady seconds per photograph without the
start-up (imports, model loading), which is reported on its own. The maps of both are compared
(8-bit probability levels, mask pixels): both run the baseline's own shipped model, which the
code of now exports to ONNX for its faster engines. Peak memory is each process's maximum resident set.

    .venv/bin/python bench/bench_baseline.py [--images 3] [--rounds 1] [--engines auto,tensorflow]
Target: infer.py now at least 3x faster per photograph than the baseline, with the same maps.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_infer import photographs  # noqa: E402  (the same photographs as the engine bench)

BASELINE = "ab5112e^"  # the tree before the first commit of the screening work (issue 27)
MODEL = Path("models/idrid-ex-unet8-half")


def checkout(rev: str, dest: Path) -> Path:
    """The tracked files of `rev` (its shipped model included) under dest."""
    dest.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest


def same_model(baseline: Path, dest: Path) -> Path:
    """The baseline's own shipped model, copied and exported to ONNX by the code of now, so that both
    versions run the same weights and settings and their maps compare."""
    shutil.copytree(baseline / MODEL, dest)
    subprocess.run([sys.executable, "-m", "lesionseg.export", str(dest)], cwd=ROOT, check=True, capture_output=True)
    return dest


def timed(tree: Path, model: Path, photos: list[Path], out: Path, extra: list[str]) -> tuple[float, float]:
    """(wall seconds, peak resident GiB) of one infer.py process from `tree`."""
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, "infer.py", "--checkpoints", str(model), "--out", str(out), *extra, *map(str, photos)]
    env = os.environ | {"TF_CPP_MIN_LOG_LEVEL": "3"}
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=tree, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"error: {tree}/infer.py failed: {proc.stderr.read().decode()[-2000:]}")
    return seconds, usage.ru_maxrss / 2**20


def maps_differ(a: Path, b: Path, photos: list[Path]) -> tuple[int, float]:
    """(largest 8-bit probability difference, share of mask pixels that differ) over the photographs."""
    from lesionseg.imageio import read_gray

    levels, changed, total = 0, 0, 0
    for p in photos:
        pa, pb = (read_gray(d / f"{p.stem}_prob.png").astype(int) for d in (a, b))
        ma, mb = (read_gray(d / f"{p.stem}_mask.png") > 0 for d in (a, b))
        levels = max(levels, int(np.abs(pa - pb).max()))
        changed, total = changed + int((ma != mb).sum()), total + ma.size
    return levels, changed / total


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=3, help="K photographs per timed run (at least 2)")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--engines", default="auto,tensorflow", help="engines of infer.py now")
    ap.add_argument("--baseline", default=BASELINE, help="the git revision of the baseline")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench_baseline_"))
    try:
        photos = photographs(args.images, work)
        old = checkout(args.baseline, work / "baseline")
        runs = {"baseline": (old, old / MODEL, [])}
        model = same_model(old, work / "model")
        for engine in args.engines.split(","):
            runs[f"now, {engine}"] = (ROOT, model, ["--engine", engine])
        times = {name: {"many": [], "one": [], "peak": []} for name in runs}
        for _ in range(args.rounds):
            for name, (tree, weights, extra) in runs.items():  # in turns, so that the machine's state is shared
                for key, subset in (("many", photos), ("one", photos[:1])):
                    seconds, peak = timed(tree, weights, subset, work / "out" / name / key, extra)
                    times[name][key].append(seconds)
                    times[name]["peak"].append(peak)
        print(f"{len(photos)} photographs ({photos[0].parent.name}), {args.rounds} round(s); seconds per photograph "
              f"= (run of {len(photos)} - run of 1) / {len(photos) - 1}")
        print(f"{'infer.py':<22} {'per photograph':>14} {'start-up':>9} {'peak GiB':>9} {'x baseline':>11}")
        per = {}
        for name, t in times.items():
            many, one = statistics.median(t["many"]), statistics.median(t["one"])
            per[name] = (many - one) / (len(photos) - 1)
            print(f"{name:<22} {per[name]:>14.2f} {one - per[name]:>9.1f} {max(t['peak']):>9.2f} "
                  f"{per['baseline'] / per[name]:>11.2f}")
        for name in list(runs)[1:]:
            levels, share = maps_differ(work / "out" / "baseline" / "many", work / "out" / name / "many", photos)
            print(f"maps, {name} against the baseline: largest difference {levels} of 255 levels, "
                  f"mask pixels differing {share:.5%}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
