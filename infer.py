"""Stage 6: segment new photographs with a trained model.

For each image (files, or folders of them): <stem>_prob.png (8-bit probability), <stem>_mask.png
(0/255 at the threshold), <stem>_overlay.png, and one row of areas.csv (lesion pixels and percent
of the field of view). The threshold is the one evaluate.py stored unless --threshold is given.
A model of several lesions writes <stem>_<CODE>_prob.png and <stem>_<CODE>_mask.png per lesion (each
at its own threshold; a typed --threshold applies to all), one overlay with a colour per lesion and
a legend, and two areas.csv columns per lesion.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import fields, replace
from pathlib import Path

from lesionseg.cli import constants_parser, given_dests, script_constants
from lesionseg.errors import PipelineError, run_cli, warn
from lesionseg.quiet import quiet_tensorflow

CHECKPOINTS = Path("checkpoints")
SHIPPED = Path("models/idrid-ex-unet8-half")  # used when CHECKPOINTS holds no model of your own
OUT = Path("results/infer")
THRESHOLD = None  # None: checkpoints/threshold.json (from evaluate.py), else 0.5 with a warning
MODE = "fast"
PRECISION = "float32"
PATCH_SIZE = 512
STRIDE = 256
BATCH_SIZE = 8
TILE = 4352
MARGIN = 128
OVERLAY_SCALE = 2
TTA = False  # average the probabilities of the four flips

CONSTANTS = script_constants(globals())


def stored_threshold(folder: Path, typed: float | None) -> dict:
    """What evaluate.py stored: the threshold and the inference settings it was chosen under. With a
    typed threshold an unreadable file is only a warning (infer.py's own settings are used)."""
    path = folder / "threshold.json"
    if not path.is_file():
        warn(f"{path} not found (run evaluate.py to choose a threshold on validation images); using 0.5")
        return {}
    try:
        stored = json.loads(path.read_text())
        if "thresholds" in stored:  # a model of several lesions
            [float(v) for v in stored["thresholds"].values()]
        else:
            float(stored["threshold"])
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        if typed is not None:
            warn(f"{path}: unreadable ({exc}); using --threshold {typed} with infer.py's own settings")
            return {}
        raise PipelineError(f"{path}: unreadable ({exc}); run evaluate.py again to choose the threshold, "
                            "or pass --threshold") from None
    return stored


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


def lesion_thresholds(stored: dict, typed: float | None, lesions: tuple[str, ...]) -> list[float]:
    """One threshold per model output: the typed one for all, else those evaluate.py stored, else 0.5."""
    if typed is not None:
        return [typed] * max(1, len(lesions))
    if not lesions:
        return [float(stored.get("threshold", 0.5))]
    chosen = stored.get("thresholds", {})
    if chosen and set(chosen) != set(lesions):
        raise PipelineError(f"threshold.json is for the lesions {', '.join(chosen)} but the model predicts "
                            f"{', '.join(lesions)}; run evaluate.py again, or pass --threshold")
    return [float(chosen.get(code, 0.5)) for code in lesions]


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

    from lesionseg.imageio import save_png

    save_png(np.round(prob * 255).astype(np.uint8), base.with_name(f"{base.name}_prob.png"), compress_level=6)
    save_png(pred.astype(np.uint8) * 255, base.with_name(f"{base.name}_mask.png"), compress_level=6)


def _percent(pixels: int, area: int) -> float:
    return 100 * pixels / area if area else float("nan")


def build_parser() -> argparse.ArgumentParser:
    parser = constants_parser(__doc__, CONSTANTS,
                              {"MODE": ["fast", "faithful"], "PRECISION": ["float32", "bfloat16", "float16"]},
                              types={"THRESHOLD": float})
    parser.add_argument("inputs", nargs="+", help="image files or folders")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    quiet_tensorflow()

    import pandas as pd
    from tqdm import tqdm

    from lesionseg.checkpoints import load_trained, model_prep
    from lesionseg.imageio import read_rgb, write_csv
    from lesionseg.model import with_precision
    from lesionseg.predict import Inference, predict_image

    if not args.shipped.is_absolute() and not args.shipped.exists():  # run from another folder
        args.shipped = Path(__file__).resolve().parent / args.shipped
    if not (args.checkpoints / "model.keras").is_file() and (args.shipped / "model.keras").is_file():
        print(f"no model in {args.checkpoints}/: using the shipped model {args.shipped} "
              f"(see {args.shipped / 'MODEL_CARD.md'})")
        args.checkpoints = args.shipped
    trained = load_trained(args.checkpoints)  # a missing model is said first
    prep = model_prep(trained, args.checkpoints)
    files = expand(args.inputs, args.out)
    if (args.out / "areas.csv").is_file():
        warn(f"{args.out}/ holds an earlier run's outputs: images segmented again are replaced, and areas.csv "
             "will list this run's images only (use another --out to keep both)")
    stored = stored_threshold(args.checkpoints, args.threshold)
    thresholds = lesion_thresholds(stored, args.threshold, prep.lesions)
    inference = Inference(**{f.name: getattr(args, f.name) for f in fields(Inference) if hasattr(args, f.name)})
    chosen = stored.get("inference", {})
    typed = given_dests(parser, argv)
    kept = {k: v for k, v in chosen.items() if k not in typed and hasattr(inference, k)}
    overridden = sorted(k for k in chosen if k in typed and getattr(inference, k) != chosen[k])
    inference = replace(inference, **kept)
    if overridden and args.threshold is None:
        which = f"thresholds ({', '.join(f'{t:.3f}' for t in thresholds)}) were" if prep.lesions \
            else f"threshold {thresholds[0]:.3f} was"
        warn(f"the {which} chosen under other settings ({', '.join(overridden)}); its figures may not hold")
    model = with_precision(trained, inference.precision)
    rows, failed = [], []
    for path in tqdm(files, desc="infer", unit="img"):
        try:
            image = read_rgb(path)
        except PipelineError as exc:
            print(f"error: {exc}; skipped", file=sys.stderr)
            failed.append(path)
            continue
        prob = predict_image(model, image, inference, prep)
        figures = segment(image, prob, thresholds, prep.lesions, args.out, path.stem, args.overlay_scale)
        rows.append({"image": str(path), "stem": path.stem} | figures)
    if rows:
        write_csv(pd.DataFrame(rows), args.out / "areas.csv")
        at = ", ".join(f"{code} {t:.3f}" for code, t in zip(prep.lesions, thresholds, strict=True)) \
            if prep.lesions else f"{thresholds[0]:.3f}"
        print(f"{len(rows)} image(s) segmented at threshold {at}: {args.out}/ (areas.csv)")
    if failed:
        print(f"error: {len(failed)} image(s) could not be read: {', '.join(p.name for p in failed)}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    run_cli(main)
