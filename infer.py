"""Stage 6: segment new photographs with a trained model.

For each image (files, or folders of them): <stem>_prob.png (8-bit probability), <stem>_mask.png
(0/255 at the threshold), <stem>_overlay.png, and one row of areas.csv (lesion pixels and percent
of the field of view), written as each photograph finishes. Started again with the same command, a
killed run skips the photographs already in areas.csv; unreadable ones go to errors.csv and the run
goes on. --part K/N segments the K-th of N shares of the inputs (areas-part-K-of-N.csv).
The threshold is the one evaluate.py stored with the model (bundle.json) unless
--threshold is given, and so are the inference settings it was chosen under, unless typed.
A model of several lesions writes <stem>_<CODE>_prob.png and <stem>_<CODE>_mask.png per lesion (each
at its own threshold; a typed --threshold applies to all), one overlay with a colour per lesion and
a legend, and two areas.csv columns per lesion.
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

CHECKPOINTS = Path("checkpoints")
SHIPPED = Path("models/idrid-ex-unet8-half")  # used when CHECKPOINTS holds no model of your own
OUT = Path("results/infer")
THRESHOLD = None  # None: each lesion's threshold stored with the model by evaluate.py (0.5 if none, with a warning)

# How whole images are predicted. None: as stored with the model, the settings its threshold was chosen under
MODE = None  # fast | faithful
PRECISION = None  # float32 | bfloat16 (CPU) | float16 (GPU)
PATCH_SIZE = None
STRIDE = None
BATCH_SIZE = None
TILE = None
MARGIN = None
TTA = None  # average the probabilities of the four flips
OVERLAY_SCALE = 2
PART = "1/1"  # K/N: only every N-th input from the K-th, for N machines or processes sharing a batch
FRESH = False  # start areas.csv over even when --out holds a run with the same model and settings

CONSTANTS = script_constants(globals())
TYPES = {"THRESHOLD": float, "PATCH_SIZE": int, "STRIDE": int, "BATCH_SIZE": int, "TILE": int, "MARGIN": int,
         "TTA": bool, "PART": parse_part}


def expand(inputs: list[str], out: Path) -> list[Path]:
    """The images to segment, each once; two files whose outputs would share a name are refused."""
    from lesionseg.imageio import list_images

    files: list[Path] = []
    for text in inputs:
        p = Path(text)
        if p.is_dir():
            found = list_images(p)
            if not found:
                raise PipelineError(f"{p}: folder holds no images")
            files += found
        elif p.exists():
            files.append(p)
        else:
            raise PipelineError(f"{p}: no such file or folder")
    by_stem: dict[str, Path] = {}  # first mention kept, in order
    for f in files:
        if (other := by_stem.setdefault(f.stem, f)).resolve() != f.resolve():
            raise PipelineError(f"{other} and {f} would both write {f.stem}_prob.png, {f.stem}_mask.png and "
                                f"{f.stem}_overlay.png in {out}/; segment them in separate runs (another --out), "
                                "or rename one")
    return list(by_stem.values())


def segment(image, prob, thresholds: list[float], lesions: tuple[str, ...], out: Path, stem: str,
            overlay_scale: int) -> dict:
    """Write one photograph's maps, masks and overlay; return its areas.csv figures."""
    from lesionseg.fov import fov_from_image
    from lesionseg.imageio import save_png
    from lesionseg.multi import colour
    from lesionseg.overlay import PRED, legend, overlay

    area = int(fov_from_image(image).sum())
    if not lesions:  # one lesion: the files and areas.csv columns it always had
        pred = prob[..., 0] >= thresholds[0]
        _save_maps(prob[..., 0], pred, out / stem)
        save_png(overlay(image, [(pred, PRED)], overlay_scale), out / f"{stem}_overlay.png")
        return {"threshold": thresholds[0], "lesion_pixels": int(pred.sum()), "fov_pixels": area,
                "lesion_percent_of_fov": _percent(int(pred.sum()), area)}
    row: dict = {"fov_pixels": area}
    layers, key = [], [(code, colour(code, k)) for k, code in enumerate(lesions)]
    for k, ((code, rgb), threshold) in enumerate(zip(key, thresholds, strict=True)):
        pred = prob[..., k] >= threshold
        _save_maps(prob[..., k], pred, out / f"{stem}_{code}")
        layers.append((pred, rgb))
        row |= {f"{code}_threshold": threshold, f"{code}_lesion_pixels": int(pred.sum()),
                f"{code}_lesion_percent_of_fov": _percent(int(pred.sum()), area)}
    save_png(legend(overlay(image, layers, overlay_scale), key), out / f"{stem}_overlay.png")
    return row


def _save_maps(prob, pred, base: Path) -> None:
    """<base>_prob.png (8-bit probability) and <base>_mask.png (0/255)."""
    import numpy as np

    from lesionseg.imageio import save_png, save_probability

    save_probability(prob, base.with_name(f"{base.name}_prob.png"))
    save_png(pred.astype(np.uint8) * 255, base.with_name(f"{base.name}_mask.png"), compress_level=6)


def _percent(pixels: int, area: int) -> float:
    return 100 * pixels / area if area else float("nan")


def build_parser() -> argparse.ArgumentParser:
    parser = constants_parser(__doc__, CONSTANTS,
                              {"MODE": ["fast", "faithful"], "PRECISION": ["float32", "bfloat16", "float16"]},
                              types=TYPES)
    parser.add_argument("inputs", nargs="+", help="image files or folders")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    quiet_tensorflow()

    from tqdm import tqdm

    from lesionseg.batch import continues, share, tables
    from lesionseg.imageio import read_rgb
    from lesionseg.predict import Inference
    from lesionseg.predictor import Predictor
    from lesionseg.rowlog import RowLog

    if not args.shipped.is_absolute() and not args.shipped.exists():  # run from another folder
        args.shipped = Path(__file__).resolve().parent / args.shipped
    if not (args.checkpoints / "model.keras").is_file() and (args.shipped / "model.keras").is_file():
        print(f"no model in {args.checkpoints}/: using the shipped model {args.shipped} "
              f"(see {args.shipped / 'MODEL_CARD.md'})")
        args.checkpoints = args.shipped
    typed = {f.name: getattr(args, f.name) for f in fields(Inference) if getattr(args, f.name, None) is not None}
    predictor = Predictor.load(args.checkpoints, typed, thresholds_optional=args.threshold is not None)
    bundle = predictor.bundle
    files = share(expand(args.inputs, args.out), args.part)
    if args.threshold is not None:
        thresholds = [args.threshold] * len(bundle.lesions)
    else:
        thresholds = bundle.threshold_values()
        if not bundle.evaluated:
            warn(f"{args.checkpoints}: no threshold was chosen for this model (run evaluate.py to choose one on "
                 "validation images); using 0.5")
        overridden = sorted(k for k, v in typed.items() if getattr(bundle.inference, k) != v)
        if overridden and bundle.evaluated:
            which = "thresholds were" if len(thresholds) > 1 else "threshold was"
            warn(f"the {which} chosen under other settings ({', '.join(overridden)}); its figures may not hold")
    areas_path, errors_path = tables(args.out, args.part)
    signature = {"model": str(args.checkpoints.resolve()), "bundle": bundle.as_dict(), "thresholds": thresholds,
                 "inference": asdict(predictor.inference), "overlay_scale": args.overlay_scale}
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
    bar = tqdm(todo, desc="infer", unit="img")
    for path in bar:
        try:
            image = read_rgb(path)
        except PipelineError as exc:
            print(f"error: {exc}; skipped", file=sys.stderr)
            errors.append({"image": str(path), "reason": str(exc)})
            continue
        prob = predictor.predict(image, str(path))
        figures = segment(image, prob, thresholds, predictor.prep.lesions, args.out, path.stem, args.overlay_scale)
        areas.append({"image": str(path), "stem": path.stem} | figures)  # on disk before the next photograph
        if rate := bar.format_dict.get("rate"):
            bar.set_postfix_str(f"{60 * rate:.1f} img/min")
    if areas.rows:
        at = ", ".join(f"{code} {t:.3f}" for code, t in zip(bundle.lesions, thresholds, strict=True)) \
            if len(thresholds) > 1 else f"{thresholds[0]:.3f}"
        print(f"{len(areas.rows)} image(s) segmented at threshold {at}: {args.out}/ ({areas_path.name})")
    if errors.rows:
        print(f"error: {len(errors.rows)} image(s) could not be read: "
              f"{', '.join(Path(r['image']).name for r in errors.rows)} ({errors_path})", file=sys.stderr)
        return 1
    return 0

if __name__ == "__main__":
    run_cli(main)
