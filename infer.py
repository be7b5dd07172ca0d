"""Stage 6: segment new photographs with a trained model.

For each image (files, or folders of them): <stem>_prob.png (8-bit probability), <stem>_mask.png
(0/255 at the threshold), <stem>_overlay.png, and one row of areas.csv (lesion pixels and percent
of the field of view), written as each photograph finishes (the next one is read and the last one
written while the network runs: lesionseg.batch.pipelined). Started again with the same command, a
killed run skips the photographs already in areas.csv; unreadable ones go to errors.csv and the run
goes on. --part K/N segments the K-th of N shares of the inputs (areas-part-K-of-N.csv).
The threshold is the one evaluate.py stored with the model (bundle.json) unless
--threshold is given, and so are the inference settings it was chosen under, unless typed.
A model of several lesions writes <stem>_<CODE>_prob.png and <stem>_<CODE>_mask.png per lesion (each
at its own threshold; a typed --threshold applies to all), one overlay with a colour per lesion and
a legend, and two areas.csv columns per lesion. --models all (or a list of shipped models' names,
`--list-models` shows them) runs several models in one pass and writes the same per structure: one
overlay with a colour per structure and one areas.csv with a column pair per structure.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict, fields
from pathlib import Path

from lesionseg.batch import parse_part
from lesionseg.cli import constants_parser, script_constants
from lesionseg.errors import PipelineError, run_cli, warn
from lesionseg.quiet import quiet_tensorflow

CHECKPOINTS = Path("checkpoints")  # the model folder; with no model there, the shipped one
SHIPPED = Path("models/idrid-ex-unet8-half")  # used when CHECKPOINTS holds no model of your own
ZOO = Path("models")  # the folder of shipped models that --models and --list-models read
MODELS = None  # shipped models to run together instead of CHECKPOINTS: all, or names (e.g. idrid-ex-unet8-half)
LIST_MODELS = False  # list the shipped models (structure, figures, size) and stop
OUT = Path("results/infer")  # where the maps, masks, overlays and areas.csv go
THRESHOLD = None  # None: each lesion's threshold stored with the model by evaluate.py (0.5 if none, with a warning)

# How whole images are predicted. None: as stored with the model, the settings its threshold was chosen under
MODE = None  # fast | faithful
PRECISION = None  # float32 | bfloat16 (CPU) | float16 (GPU)
PATCH_SIZE = None  # None: the model's stored setting (evaluate.py's flags of the same name)
STRIDE = None  # None: the model's
BATCH_SIZE = None  # None: the model's
TILE = None  # None: the model's
MARGIN = None  # None: the model's
TTA = None  # average the probabilities of the four flips
TTA_SCALES = None  # also resample the input by these factors and average (e.g. 1,1.25); None: the model's
LARGEST_COMPONENT = None  # keep only the region of most probability in each map (one optic disc per eye)
CONVEX_HULL = None  # and fill that region to its convex hull at every threshold (implies the above)
FILL_HOLES = None  # or fill only that region's holes at every threshold (implies the one region)
TTA_TRANSPOSE = None  # the flips of the transposed image too (all eight rotations and mirrors)
ENGINE = "auto"  # auto (the fastest installed with an export) | tensorflow | onnxruntime | openvino (docs/pipeline.md)
OVERLAY_SCALE = 2  # overlays at 1/OVERLAY_SCALE size (lesions are max-pooled so none vanish)
PART = "1/1"  # K/N: only every N-th input from the K-th, for N machines or processes sharing a batch
FRESH = False  # start areas.csv over even when --out holds a run with the same model and settings

CONSTANTS = script_constants(globals())
TYPES = {"MODELS": str, "THRESHOLD": float, "PATCH_SIZE": int, "STRIDE": int, "BATCH_SIZE": int, "TILE": int,
         "MARGIN": int, "TTA": bool, "LARGEST_COMPONENT": bool, "CONVEX_HULL": bool, "FILL_HOLES": bool,
         "TTA_TRANSPOSE": bool,
         "PART": parse_part}


def build_parser() -> argparse.ArgumentParser:
    from lesionseg.engines import CHOICES
    from lesionseg.predict import parse_scales

    parser = constants_parser(__doc__, CONSTANTS, {"MODE": ["fast", "faithful"], "ENGINE": list(CHOICES),
                                                   "PRECISION": ["float32", "bfloat16", "float16"]},
                              types=TYPES | {"TTA_SCALES": parse_scales})
    parser.add_argument("inputs", nargs="*", help="image files, folders, glob patterns, or CSV files of paths")
    return parser


def beside_script(path: Path) -> Path:
    """A relative path of the project's own (models/...) found when infer.py runs from another folder."""
    if not path.is_absolute() and not path.exists():
        return Path(__file__).resolve().parent / path
    return path


def model_folder(checkpoints: Path, shipped: Path) -> Path:
    """The model to use: checkpoints/, or the shipped model when checkpoints/ holds none (said once)."""
    shipped = beside_script(shipped)
    from lesionseg.ensemble import holds_model

    if not holds_model(checkpoints) and holds_model(shipped):
        print(f"no model in {checkpoints}/: using the shipped model {shipped} (see {shipped / 'MODEL_CARD.md'})")
        return shipped
    return checkpoints


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from lesionseg import zoo

    if args.list_models:  # read from the bundles alone: no network is loaded, nor Keras
        return zoo.main(["--models", str(beside_script(args.zoo))])
    quiet_tensorflow()

    from tqdm import tqdm

    from lesionseg.batch import continues, failures, list_inputs, pipelined, share, tables
    from lesionseg.engines import describe
    from lesionseg.predict import Inference
    from lesionseg.rowlog import RowLog
    from lesionseg.segmenting import Segmenter

    if not args.inputs:
        raise PipelineError("no photographs given: name image files, folders, glob patterns or CSV files of paths")
    if args.models:
        folders = zoo.pick(args.models, beside_script(args.zoo))
    else:
        folders = [model_folder(args.checkpoints, args.shipped)]
    typed = {f.name: getattr(args, f.name) for f in fields(Inference) if getattr(args, f.name, None) is not None}
    segmenter = Segmenter.load(folders, args.out, args.threshold, typed, args.engine, args.overlay_scale)
    thresholds = segmenter.thresholds
    print(f"engine: {', '.join(sorted({describe(p.engine) for p in segmenter.predictors}))}")
    files = share(list_inputs(args.inputs, args.out), args.part)
    areas_path, errors_path = tables(args.out, args.part)
    signature = {"models": [str(f.resolve()) for f in folders],
                 "bundles": [p.bundle.as_dict() for p in segmenter.predictors], "thresholds": thresholds,
                 "inference": [asdict(p.inference) for p in segmenter.predictors],
                 "overlay_scale": args.overlay_scale}
    resume = continues(args.out, signature) and not args.fresh
    if areas_path.is_file() and not resume:
        warn(f"{args.out}/ holds an earlier run's outputs: images segmented again are replaced, and "
             f"{areas_path.name} will list this run's images only (use another --out to keep both)")
    areas, errors = RowLog(areas_path, keep=resume), RowLog(errors_path, keep=False)
    areas.keep_only("image", {str(p) for p in files})  # the table lists this run's photographs only
    todo = [p for p in files if str(p) not in areas.done("image")]
    if len(todo) < len(files):
        print(f"continuing a run with the same settings: {len(files) - len(todo)} of {len(files)} photographs "
              f"already segmented ({areas_path}); --fresh starts over")
    def write(path: Path, loaded, prob) -> None:
        areas.append(segmenter.write(path, loaded, prob))  # on disk once its outputs are

    def failed(path: Path, exc: PipelineError) -> None:
        print(f"error: {exc}; skipped", file=sys.stderr)
        errors.append({"image": str(path), "reason": str(exc)})

    steps = pipelined(todo, segmenter.read, segmenter.compute, write, failed)
    bar = tqdm(steps, total=len(todo), desc="infer", unit="img")
    for _ in bar:
        if rate := bar.format_dict.get("rate"):
            bar.set_postfix_str(f"{60 * rate:.1f} img/min")
    if areas.rows:
        at = ", ".join(f"{code} {t:.3f}" for code, t in zip(segmenter.lesions, thresholds, strict=True)) \
            if len(thresholds) > 1 else f"{thresholds[0]:.3f}"
        print(f"{len(areas.rows)} image(s) segmented at threshold {at}: {args.out}/ ({areas_path.name})")
    return failures(errors.rows, errors_path)

if __name__ == "__main__":
    run_cli(main)
