"""Stage 5: predict whole images, choose the threshold on the validation images from the FROC
curve, apply it unchanged to the test images, and report the paper's metrics and more.

Writes results/: metrics.json, per_image.csv, froc.csv, froc.png, pr.png, lesion_froc.png,
probabilities/<stem>.png (8-bit, the IDRiD submission format) and overlays/<stem>.png; and the
chosen threshold, with the settings it was chosen under, to the model's checkpoints/bundle.json for
infer.py. A model of several lesions gets all of
that per lesion in results/<CODE>/ (each its own validation threshold), with results/lesions.csv
holding one row per lesion.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict, fields
from pathlib import Path

from lesionseg.cli import constants_parser, script_constants
from lesionseg.errors import run_cli, warn
from lesionseg.quiet import quiet_tensorflow

DATA = Path("data")  # the workspace: val_images.csv and test.csv
CHECKPOINTS = Path("checkpoints")  # the model folder (train.py's, or models/<name>)
RESULTS = Path("results")  # where metrics, plots, maps and overlays go
MODE = "fast"  # fast: large tiles with margins; faithful: the 512/256 patch grid, averaged (docs/pipeline.md: why)
PRECISION = "float32"  # float32 | bfloat16 (CPU) | float16 (GPU)
PATCH_SIZE = 512  # faithful mode: the patch grid
STRIDE = 256  # faithful mode: its step
BATCH_SIZE = 8  # patches or tiles per network call
GAUSSIAN = False  # faithful mode: nnU-Net Gaussian weights instead of a plain average
TILE = 4352  # fast mode: largest tile side before the image is split (a whole IDRiD image is one tile)
MARGIN = 128  # fast mode: context on each side of a tile, cropped off after prediction
THRESHOLD_RULE = "max_dice"  # max_dice | fp_budget | fixed (docs/pipeline.md: the rule)
FP_BUDGET = 2000.0  # fp_budget rule: average false-positive pixels per image allowed
FIXED_THRESHOLD = 0.5  # the threshold of the fixed rule
LESION_OVERLAP = 0.2  # lesion-level: share of a lesion (or of a predicted component) that must overlap
OVERLAYS = 3  # test images drawn with hits, false alarms and misses
OVERLAY_SCALE = 2  # overlays at 1/OVERLAY_SCALE size (lesions are max-pooled so none vanish)
TTA = False  # test-time augmentation: average the probabilities of the four flips (4x the time)
TTA_SCALES = "1"  # also resample the working-scale input by these factors and average (e.g. 1,1.25: 2.6x the time)
LARGEST_COMPONENT = False  # keep only the region of most probability in each map: one optic disc per eye
CONVEX_HULL = False  # and fill that region to its convex hull at every threshold (a disc's shape; implies the above)
TTA_TRANSPOSE = False  # with the flips, those of the transposed image too: all eight rotations and mirrors (2x)
FILL_HOLES = False  # fill the holes of that one region at every threshold (a disc has none; implies LARGEST_COMPONENT)
ENGINE = "auto"  # auto (the fastest installed with an export) | tensorflow | onnxruntime | openvino (docs/pipeline.md)

CONSTANTS = script_constants(globals())
PAPER = {"sensitivity": 0.88609, "specificity": 0.99944, "ppv": 0.82689, "idrid_best_ex_aupr": 0.885}


def image_row(e, threshold: float, out: Path, overlay_scale: int) -> dict:
    """Write one test image's probability PNG (and, with a scale, its error overlay); return its row
    of per_image.csv: pixel counts and rates in the whole frame and inside the field of view."""

    from lesionseg.imageio import save_png, save_probability
    from lesionseg.metrics import confusion
    from lesionseg.overlay import error_overlay

    save_probability(e.prob, out / "probabilities" / f"{e.stem}.png")
    pred = e.prob >= threshold
    if overlay_scale:
        save_png(error_overlay(e.image, pred, e.truth, overlay_scale), out / "overlays" / f"{e.stem}.png")
    return ({"stem": e.stem, "lesion_pixels": int(e.truth.sum()), "predicted_pixels": int(pred.sum())}
            | confusion(pred, e.truth) | {f"fov_{k}": v for k, v in confusion(pred, e.truth, e.fov).items()})


def curves_and_plots(counts, threshold: float, out: Path, n_test: int, overlap: float) -> tuple[dict, dict]:
    """froc.csv and the FROC, PR and lesion-FROC plots; returns (whole-frame summary, lesion curve)."""
    import pandas as pd

    from lesionseg import plots
    from lesionseg.imageio import write_csv
    from lesionseg.metrics import froc, pr_curve, rates, summary

    fp_area, sens = froc(counts.frame)
    recall, precision = pr_curve(counts.frame)
    c = counts.frame.curves()
    write_csv(pd.DataFrame({"threshold": counts.frame.thresholds, "fp_area_per_image": fp_area, "sensitivity": sens,
                            "ppv": rates(c["tp"], c["fp"], c["fn"], c["tn"])["ppv"]}), out / "froc.csv")
    frame = summary(counts.frame, threshold)
    k = counts.frame.index(threshold)
    plots.plot_froc(fp_area, sens, (fp_area[k], sens[k]), threshold, out / "froc.png",
                    f"Pixel FROC, test images ({n_test})")
    plots.plot_pr(recall, precision, frame["aupr"], (frame["sensitivity"], frame["ppv"]),
                  out / "pr.png", "Precision-recall, test images (whole frame)")
    lesion_curve = counts.lesions.curve()
    plots.plot_lesion_froc(lesion_curve, out / "lesion_froc.png", f"Lesion-level FROC (overlap >= {overlap})")
    return frame, lesion_curve


def print_summary(threshold: float, rule: str, chosen_on: str, n_test: int, test: dict, lesion_at: dict,
                  out: Path) -> None:
    print(f"\nthreshold {threshold:.3f} ({rule}, chosen on {chosen_on}); {n_test} test images")
    print(f"{'':14s}{'sensitivity':>12s}{'specificity':>12s}{'PPV':>9s}{'Dice':>8s}{'AUPR':>8s}{'ROC AUC':>9s}")
    for name, m in (("whole frame", test["whole_frame"]), ("field of view", test["field_of_view"])):
        print(f"{name:14s}{m['sensitivity']:12.5f}{m['specificity']:12.5f}{m['ppv']:9.5f}{m['dice']:8.4f}"
              f"{m['aupr']:8.4f}{m['roc_auc']:9.4f}")
    print(f"{'paper':14s}{PAPER['sensitivity']:12.5f}{PAPER['specificity']:12.5f}{PAPER['ppv']:9.5f}")
    print(f"AUPR-33 (IDRiD challenge) {test['whole_frame']['aupr_33']:.4f}; lesion level at the threshold: "
          f"sensitivity {lesion_at['sensitivity']:.4f} with {lesion_at['fp_per_image']:.1f} false-positive "
          "components per image")
    per = test["per_image_mean"]
    print(f"mean over the {per['images']} test images with the lesion: Dice {per['dice']:.4f}, "
          f"IoU (Jaccard) {per['iou']:.4f}")
    print(f"FROC plot: {out / 'froc.png'}; metrics: {out / 'metrics.json'}")


def pick_threshold(counts, args) -> float:
    """The threshold the chosen rule (THRESHOLD_RULE and its settings) picks on these counts."""
    from lesionseg.metrics import choose_threshold

    return choose_threshold(counts, rule=args.threshold_rule, fp_budget=args.fp_budget, fixed=args.fixed_threshold)


def lesion_report(counts, val_counts, threshold: float, chosen_on: str, rows: list[dict], out: Path, args,
                  prep) -> dict:
    """One lesion's metrics.json, per_image.csv and plots in `out`; returns its metrics."""
    import pandas as pd

    from lesionseg.checkpoints import write_json
    from lesionseg.imageio import write_csv
    from lesionseg.metrics import per_image_means, summary

    n_test = len(rows)
    test_frame, lesion_curve = curves_and_plots(counts, threshold, out, n_test, args.lesion_overlap)
    at = lesion_curve["threshold"].index(round(threshold, 4))
    lesion_at = {"threshold": threshold, "sensitivity": lesion_curve["sensitivity"][at],
                 "fp_per_image": lesion_curve["fp_per_image"][at]}
    optimal = pick_threshold(counts.frame, args)
    metrics = {
        "threshold": threshold, "threshold_rule": args.threshold_rule, "threshold_chosen_on": chosen_on,
        "test": {"whole_frame": test_frame, "field_of_view": summary(counts.fov, threshold),
                 "per_image_mean": per_image_means(rows)},
        "validation": None if val_counts is None else {"whole_frame": summary(val_counts.frame, threshold),
                                                       "field_of_view": summary(val_counts.fov, threshold)},
        "test_optimal_LABELLED_NOT_FOR_REPORTING_AS_HELD_OUT": {
            "threshold": optimal, "whole_frame": counts.frame.at(optimal)},
        "lesion_level": {"overlap": args.lesion_overlap, "at_threshold": lesion_at, **lesion_curve},
        "paper": PAPER,
        "settings": {k.lower(): str(getattr(args, k.lower())) for k in CONSTANTS},
        "prep": prep.as_dict(),
    }
    write_json(metrics, out / "metrics.json")
    write_csv(pd.DataFrame(rows), out / "per_image.csv")
    print_summary(threshold, args.threshold_rule, chosen_on, n_test, metrics["test"], lesion_at, out)
    return metrics


def lesion_table(lesions: tuple[str, ...], reports: list[dict]) -> list[dict]:
    """lesions.csv of a several-lesion evaluation: one row of headline figures per lesion."""
    rows = []
    for code, m in zip(lesions, reports, strict=True):
        f, at = m["test"]["whole_frame"], m["lesion_level"]["at_threshold"]
        rows.append({"lesion": code, "threshold": m["threshold"], "aupr_33": f["aupr_33"], "aupr": f["aupr"],
                     "sensitivity": f["sensitivity"], "ppv": f["ppv"], "dice": f["dice"],
                     "specificity": f["specificity"], "lesion_sensitivity": at["sensitivity"],
                     "fp_components_per_image": at["fp_per_image"],
                     "mean_image_iou": m["test"]["per_image_mean"]["iou"]})
    return rows


def validation_thresholds(val, predict, lesions: tuple[str, ...], args) -> tuple[list, list[float], str]:
    """Each lesion's pixel counts on the validation images and the threshold its rule picks there;
    the fixed threshold, with a warning, where there is nothing to choose on."""
    from lesionseg.evaluation import count_all, evaluated

    channels = max(1, len(lesions))
    if val is None:
        if args.threshold_rule != "fixed":
            warn(f"{args.data / 'val_images.csv'} lists no validation images: using the fixed threshold "
                 f"{args.fixed_threshold}")
        chosen_on = "nothing: no validation images, so the --fixed-threshold value"
        return [None] * channels, [args.fixed_threshold] * channels, chosen_on
    counts = count_all(evaluated(val, args.data, predict, "validation", lesions), channels)
    thresholds = []
    for code, c in zip(lesions or ("lesion",), counts, strict=True):
        if not c.frame.pos.sum():
            warn(f"no validation image shows {code}: its threshold is the fixed {args.fixed_threshold}")
        thresholds.append(pick_threshold(c.frame, args) if c.frame.pos.sum() else args.fixed_threshold)
    return counts, thresholds, f"validation images ({len(val)})"


def build_parser() -> argparse.ArgumentParser:
    from lesionseg.engines import CHOICES
    from lesionseg.predict import parse_scales

    choices = {"MODE": ["fast", "faithful"], "PRECISION": ["float32", "bfloat16", "float16"],
               "THRESHOLD_RULE": ["max_dice", "fp_budget", "fixed"], "ENGINE": list(CHOICES)}
    return constants_parser(__doc__, CONSTANTS, choices, types={"TTA_SCALES": parse_scales})


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    quiet_tensorflow()

    import pandas as pd

    from lesionseg.checkpoints import write_json
    from lesionseg.engines import describe
    from lesionseg.evaluation import SetCounts, evaluated
    from lesionseg.imageio import has_rows, read_csv, write_csv
    from lesionseg.lesions import THRESHOLDS as LESION_THRESHOLDS
    from lesionseg.lesions import LesionCounts
    from lesionseg.multi import mask_column
    from lesionseg.predict import Inference
    from lesionseg.predictor import Predictor

    inference = Inference(**{f.name: getattr(args, f.name) for f in fields(Inference)})  # each setting's flag
    predictor = Predictor.load(args.checkpoints, asdict(inference), engine=args.engine)
    print(f"engine: {describe(predictor.engine)}")
    prep = predictor.prep
    lesions, channels = prep.lesions, prep.channels
    columns = ["stem", "image", "mask", "fov", *(mask_column(c) for c in lesions)]
    test = read_csv(args.data / "test.csv", columns, "run traintest_split.py first")
    val_path = args.data / "val_images.csv"
    val = read_csv(val_path, columns, "run traintest_split.py again") if has_rows(val_path) else None
    predict = predictor.predict

    val_counts, thresholds, chosen_on = validation_thresholds(val, predict, lesions, args)
    outs = [args.results / code for code in lesions] or [args.results]
    for old in sorted(p for o in outs for p in (o / "probabilities").glob("*.png")):
        old.unlink()  # maps of an earlier run must not mix with this one's
    # each lesion's FROC at fixed points, plus its chosen threshold itself
    test_counts = [SetCounts(lesions=LesionCounts(tuple(sorted(set(LESION_THRESHOLDS) | {round(t, 4)})),
                                                  args.lesion_overlap)) for t in thresholds]
    rows: list[list[dict]] = [[] for _ in range(channels)]
    for i, e in enumerate(evaluated(test, args.data, predict, "test", lesions)):
        for k in range(channels):
            test_counts[k].add(e.lesion(k))
            rows[k].append(image_row(e.lesion(k), thresholds[k], outs[k],
                                     args.overlay_scale if i < args.overlays else 0))

    reports = []
    for k in range(channels):
        if lesions:
            print(f"\n== {lesions[k]} ==")
        reports.append(lesion_report(test_counts[k], val_counts[k], thresholds[k], chosen_on, rows[k], outs[k],
                                     args, prep))
    if lesions:
        write_json({"lesions": dict(zip(lesions, reports, strict=True))}, args.results / "metrics.json")
        write_csv(pd.DataFrame(lesion_table(lesions, reports)), args.results / "lesions.csv")
        print(f"\nper-lesion results in {', '.join(str(o) for o in outs)}; summary {args.results / 'lesions.csv'}")
    predictor.bundle.with_thresholds(thresholds, args.threshold_rule, chosen_on, inference).write(args.checkpoints)
    return 0


if __name__ == "__main__":
    run_cli(main)
