"""Batch inference over many machines on Ray Data: the same per-photograph outputs as infer.py, and one
areas.csv (rows in the order of the inputs), from a pool of workers that each hold one loaded model.

    pip install -e ".[ray]"
    python -m lesionseg.distributed --checkpoints models/idrid-ex-unet8-half --out results/screening \\
        --workers 2 photos/                   # this machine; --address auto joins a running Ray cluster
    python -m lesionseg.distributed --models all --out results/screening photos/   # every shipped model

Each worker is a Ray actor built once (Segmenter.load: the bundle, its engine and thresholds) and fed
photographs by Ray Data's map_batches, so the network is loaded once per worker, not per photograph.
The paths are read by the workers, and they write the PNGs straight to --out: on a cluster both must
be on storage every node mounts at the same path (docs/pipeline.md: "Many machines"). Unreadable photographs go
to errors.csv, as with infer.py, and the exit status is 1.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from .errors import PipelineError, run_cli

WORKERS = 2
BATCH = 1  # photographs per call of a worker: one keeps the work spread evenly


class SegmentWorker:
    """A Ray actor: one model, segmenting the photographs of each batch it is given."""

    def __init__(self, settings: dict[str, Any]):
        from .quiet import quiet_tensorflow
        from .segmenting import Segmenter

        quiet_tensorflow()
        self.segmenter = Segmenter.load([Path(f) for f in settings["models"]], Path(settings["out"]),
                                        settings["threshold"], settings["typed"], settings["engine"],
                                        settings["overlay_scale"])

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list]:
        rows, errors = [], []
        for path in map(Path, batch["path"]):
            try:
                loaded = self.segmenter.read(path)
            except PipelineError as exc:
                rows.append("")
                errors.append(str(exc))
                continue
            rows.append(json.dumps(self.segmenter.write(path, loaded, self.segmenter.compute(path, loaded))))
            errors.append("")
        return {"index": list(batch["index"]), "row": rows, "error": errors}


def run(files: list[Path], settings: dict[str, Any], workers: int = WORKERS, address: str | None = None,
        cpus_per_worker: float = 1.0) -> tuple[list[dict], list[dict]]:
    """(areas rows, error rows), both in the order of `files`."""
    try:
        import ray
    except ImportError:
        raise PipelineError("distributed inference needs Ray: `pip install -e \".[ray]\"`") from None
    started = not ray.is_initialized()
    if started:
        ray.init(address=address, num_cpus=None if address else max(workers, 1) * cpus_per_worker,
                 include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        items = [{"index": k, "path": str(p)} for k, p in enumerate(files)]
        done = ray.data.from_items(items).map_batches(
            SegmentWorker, fn_constructor_kwargs={"settings": settings}, batch_size=BATCH, concurrency=workers,
            num_cpus=cpus_per_worker).take_all()
    finally:
        if started:
            ray.shutdown()
    done.sort(key=lambda r: int(r["index"]))
    areas = [json.loads(r["row"]) for r in done if r["row"]]
    errors = [{"image": str(files[int(r["index"])]), "reason": r["error"]} for r in done if r["error"]]
    return areas, errors


def build_parser() -> argparse.ArgumentParser:
    from .engines import CHOICES

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoints", type=Path, default=Path("checkpoints"), help="model folder")
    parser.add_argument("--models", default=None,
                        help="shipped models run together instead of --checkpoints: all, or names (as infer.py)")
    parser.add_argument("--zoo", type=Path, default=Path("models"), help="the folder of shipped models")
    parser.add_argument("--out", type=Path, default=Path("results/infer"))
    parser.add_argument("--threshold", type=float, default=None, help="default: each lesion's stored threshold")
    parser.add_argument("--engine", default="auto", choices=CHOICES)
    parser.add_argument("--overlay-scale", type=int, default=2)
    parser.add_argument("--workers", type=int, default=WORKERS, help="actors, each holding one model")
    parser.add_argument("--cpus-per-worker", type=float, default=1.0)
    parser.add_argument("--address", default=None, help="a Ray cluster (auto: the one this machine joined)")
    parser.add_argument("inputs", nargs="+", help="image files, folders, glob patterns, or CSV files of paths")
    return parser


def main(argv: list[str] | None = None) -> int:
    import pandas as pd

    from . import zoo
    from .batch import failures, list_inputs
    from .bundle import Bundle
    from .checkpoints import model_file
    from .ensemble import model_folders
    from .export import ensure_export
    from .imageio import write_csv

    args = build_parser().parse_args(argv)
    folders = zoo.pick(args.models, args.zoo) if args.models else [args.checkpoints]
    for folder in folders:  # a missing model or unreadable settings are said here, not in a worker's traceback
        for member in model_folders(folder):
            model_file(member)
        Bundle.read(folder)
        if args.engine == "auto":
            ensure_export(folder)  # once, here, rather than by every worker at once
    files = list_inputs(args.inputs, args.out)
    args.out.mkdir(parents=True, exist_ok=True)
    settings = {"models": [str(f.resolve()) for f in folders], "out": str(args.out.resolve()),
                "threshold": args.threshold, "typed": {}, "engine": args.engine, "overlay_scale": args.overlay_scale}
    areas, errors = run(files, settings, args.workers, args.address, args.cpus_per_worker)
    if areas:
        write_csv(pd.DataFrame(areas), args.out / "areas.csv")
        print(f"{len(areas)} image(s) segmented by {args.workers} worker(s): {args.out}/ (areas.csv)")
    if errors:
        write_csv(pd.DataFrame(errors), args.out / "errors.csv")
    return failures(errors, args.out / "errors.csv")


if __name__ == "__main__":
    run_cli(main)
