"""Stage 2: tile every non-test image into overlapping patches; keep all positives and a seeded
random draw of negatives (the paper: as many negatives as positives).

Writes data/patches/{images,masks}/ and data/patches/patches.csv. The folder is built aside and
swapped in at the end, so a rerun never mixes in stale patches and a killed run leaves nothing
half-written.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from lesionseg import prep as preps
from lesionseg.cli import constants_parser, script_constants
from lesionseg.errors import PipelineError, run_cli
from lesionseg.imageio import atomic_dir, read_csv, read_rgb, remove_stale_tmp, resolve, write_csv
from lesionseg.multi import lesions_of, mask_column
from lesionseg.parallel import default_workers, pmap
from lesionseg.patches import PATCH_COLUMNS, PatchJob, choose, label_patches, patch_name, write_patches
from lesionseg.prep import Prep
from lesionseg.split import split_images, write_measured

DATA = Path("data")  # the workspace of gt_binary.py
SCALE = 1.0  # working scale (the paper: 1); 0.5 halves each side, and the grid below is in scaled pixels
SCALE_BY = "factor"  # factor: SCALE times each photograph's size (the paper) | fov: each photograph resampled
# so that its field of view is as wide as SCALE times the training photographs' median (any camera)
FOV_DIAMETER = 0.0  # fov rule: that width at the working scale, in px; 0: measured as said above. Given, it
# sets the size, and SCALE (then only for a photograph without a field of view) must agree with it
LEVEL = 0.0  # > 0: each photograph first brought to this median brightness (largest of R, G, B) in its field
# of view, as another camera's darker photographs would be; 0: as it is (the paper)
COLOUR = ""  # R,G,B: instead, each channel brought to its own median in the field of view (light and colour
# cast at once); auto: the medians of the training photographs (see TEST_FRACTION); empty: as it is
COLOUR_SPREAD = 0.0  # with COLOUR, >= 1: no channel's gain more than this many times red's either way (a
# nearly empty blue channel is not multiplied up with its noise); 0: each channel's own gain
COLOUR_UPPER = ""  # with COLOUR, R,G,B or auto: each channel through a power curve that also brings its field
# of view's 90% quantile to this (another camera's gamma undone as well as its gain); empty: a gain only
COLOUR_LOCAL = 0.0  # with COLOUR, > 0: the gains measured locally, on each channel's median over a window this
# share of the longer side (0.25: vignettes and uneven light undone as well); 0: one gain per channel
COLOUR_BEND = 3.0  # with COLOUR_UPPER, >= 1: the curve's exponent within [1 / this, this]; near 1, close to a gain
DEBLOCK = 0.0  # > 0: a photograph whose JPEG block grid is this strong is smoothed first (lesionseg.deblock;
# 6 catches JPEG quality 20 and below and no camera file of IDRiD's); 0: never (the paper)
VIGNETTE = ""  # auto: the training photographs' radial light floor is stored, and a photograph whose rim falls
# far below it (more than VIGNETTE_GATE) is lifted to it first (lesionseg.vignette); empty: never (the paper)
VIGNETTE_GATE = 0.5  # with VIGNETTE: the shortfall (a share of the floor) above which a photograph is lifted
MASK_SHARE = 0.5  # at scale < 1: lesion where at least this share of the covered source pixels is lesion
PREPROCESS = "none"  # none (the paper) | clahe: equalise the lightness channel | green_clahe: the green one,
# as grey | green_flat: the green one less its broad background, then equalised
PATCH_SIZE = 512  # patch side, in pixels at the working scale
STRIDE = 256  # step between patches; the last row and column are snapped to the edge
MIN_LESION_PIXELS = 1  # a patch with at least this many lesion pixels is positive (the paper's code: 1)
NEG_PER_POS = 1.0  # negatives kept per positive; the paper's balance is 1. Negative: keep all
INCLUDE_TEST = False  # also tile the layout's testing images (they are held out by default)
SEED = 42  # the draw of the negatives
TEST_FRACTION = 0.2  # a layout without a testing set: traintest_split.py's --test-fraction and --seed, so that
SPLIT_SEED = 42  # the photographs it will hold out give nothing to the measured fov width and colour medians
WORKERS = default_workers()  # parallel processes
SCALE_AGREEMENT = 0.1  # fov rule: a SCALE given with FOV_DIAMETER may differ from the scale it implies by this share

CONSTANTS = script_constants(globals())


def _write(item: tuple[PatchJob, pd.DataFrame], out_dir: Path) -> None:
    write_patches(item[0], item[1], out_dir)


def _survey(path: Path, diameter: bool, colour: bool, vignette: bool = False) -> tuple:
    """One read of a photograph for what the settings measure on it: its field-of-view diameter (the
    fov rule), its channel medians and upper quantiles (--colour auto, --colour-upper auto) and its
    radial light profile (--vignette auto); None for each one not asked for."""
    from lesionseg.fov import fov_diameter
    from lesionseg.tone import UPPER_QUANTILE, channel_quantiles
    from lesionseg.vignette import radial_profile

    rgb = read_rgb(path)
    return (fov_diameter(rgb) if diameter else None,
            channel_quantiles(rgb, [0.5, UPPER_QUANTILE]) if colour else None,
            radial_profile(rgb) if vignette else None)


COLOUR_FLAGS = {"--colour": (0, "channel medians"), "--colour-upper": (1, "channel 90% quantiles")}


def colour_target(text: str, stats: list[np.ndarray | None], where: Path, flag: str = "--colour") -> tuple[float, ...]:
    """--colour (or --colour-upper) as stored: typed R,G,B, or `auto`, the median over the training
    photographs of each one's field-of-view channel medians (or upper quantiles); no label is read:
    it is a property of the camera, but the held-out photographs' statistics stay out of it too."""
    if text.strip().lower() != "auto":
        return parse_colour(text, flag)
    row, what = COLOUR_FLAGS[flag]
    found = [s[row] for s in stats if s is not None]
    if not found:
        raise PipelineError(f"{where}: no photograph shows a field of view to measure its colour on; give "
                            f"{flag} R,G,B")
    target = tuple(round(float(v), 1) for v in np.median(np.stack(found), axis=0))
    print(f"{flag[2:]}: {len(found)} photographs, field-of-view {what} R, G, B {target}")
    return target


def parse_colour(text: str, flag: str = "--colour") -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(",")) if text.strip() else ()
    except ValueError:
        values = (0.0,)
    if values and len(values) != 3:
        raise PipelineError(f"{flag} {text!r}: give three channel levels R,G,B (e.g. 160,80,25), auto, or "
                            "nothing")
    return values


def scale_rule(args, manifest: pd.DataFrame, lesions: tuple[str, ...], held_out: set[str]
               ) -> tuple[Prep, list[float | None], list[str]]:
    """The stored settings and each photograph's factor. By the fov rule every photograph's field of
    view is measured once here (labelling and cutting both need its factor) and the target is SCALE
    times the training photographs' median diameter, unless FOV_DIAMETER gives it. Training: not in
    `held_out` (the layout's testing set, or else the share traintest_split.py will draw); the stems
    measured on are the third value (none when nothing was measured), for traintest_split.py to check."""
    by_fov = args.scale_by == "fov"
    auto_colour = "auto" in (args.colour.strip().lower(), args.colour_upper.strip().lower())
    auto_vignette = _vignette_flag(args.vignette)
    paths = [resolve(p, args.data) for p in manifest.image]
    surveys = pmap(partial(_survey, diameter=by_fov, colour=auto_colour, vignette=auto_vignette), paths,
                   args.workers, "field of view") \
        if by_fov or auto_colour or auto_vignette else [(None, None, None)] * len(paths)
    diameters = [d for d, _, _ in surveys]
    kept = [stem not in held_out for stem in manifest.stem]
    measured = sorted(s for s, keep in zip(manifest.stem, kept, strict=True) if keep) \
        if auto_colour or auto_vignette or (by_fov and args.fov_diameter <= 0) else []
    training = [m for (_, m, _), keep in zip(surveys, kept, strict=True) if keep]
    where = args.data / "manifest.csv"
    settings = {"scale": args.scale, "mask_share": args.mask_share, "preprocess": args.preprocess, "lesions": lesions,
                "level": args.level, "colour": colour_target(args.colour, training, where),
                "colour_spread": args.colour_spread,
                "colour_upper": colour_target(args.colour_upper, training, where, "--colour-upper"),
                "colour_bend": args.colour_bend, "colour_local": args.colour_local, "deblock": args.deblock,
                "vignette": _vignette_floor(auto_vignette, [v for (_, _, v), keep in zip(surveys, kept, strict=True)
                                                            if keep], where),
                "vignette_gate": args.vignette_gate}
    if not by_fov:
        return Prep(**settings), [None] * len(manifest), measured
    found = [d for d, keep in zip(diameters, kept, strict=True) if d and keep]
    if args.fov_diameter <= 0 and not found:
        raise PipelineError(f"{args.data / 'manifest.csv'}: no training photograph shows a round field of view; "
                            "use --scale-by factor, or give --fov-diameter")
    if args.fov_diameter > 0 and found and args.scale != SCALE:
        _check_agree(args.scale, args.fov_diameter, float(np.median(found)), where)
    target = args.fov_diameter if args.fov_diameter > 0 else round(args.scale * float(np.median(found)), 1)
    prep = Prep(**settings, scale_by="fov", fov_diameter=target)
    if found:
        print(f"field of view: {len(found)} training photographs, diameter median {np.median(found):.0f} px "
              f"(range {min(found):.0f} to {max(found):.0f}); resampled to {target:g} px")
    return prep, [prep.factor(None, str(p), d) for p, d in zip(paths, diameters, strict=True)], measured


def _vignette_flag(text: str) -> bool:
    if text.strip().lower() not in ("", "auto"):
        raise PipelineError(f"--vignette {text!r}: give auto (the floor measured on the training photographs) or "
                            "nothing")
    return bool(text.strip())


def _vignette_floor(auto: bool, profiles: list, where: Path) -> tuple[float, ...]:
    """--vignette auto as stored: the training photographs' radial light floor (lesionseg.vignette)."""
    from lesionseg.vignette import floor_of

    if not auto:
        return ()
    floor = floor_of(profiles)
    if not floor:
        raise PipelineError(f"{where}: no training photograph shows a field of view to measure its light on; "
                            "leave --vignette out")
    print(f"vignette: {sum(p is not None for p in profiles)} photographs, radial light floor "
          f"{' '.join(f'{v:.2f}' for v in floor)}")
    return floor


def _check_agree(scale: float, diameter: float, median: float, where: Path) -> None:
    """A --scale given with --fov-diameter must say the same size: the diameter wins and the scale is only the
    fallback for a photograph without a field of view, so a mismatch would silently train at another scale."""
    implied = diameter / median
    if abs(implied / scale - 1) > SCALE_AGREEMENT:
        raise PipelineError(
            f"{where}: --scale {scale:g} and --fov-diameter {diameter:g} disagree: the training photographs' fields "
            f"of view (median {median:.0f} px) at {diameter:g} px are scale {implied:.2f}, and the diameter wins. "
            f"Give --fov-diameter {scale * median:.1f} for scale {scale:g}, or leave --fov-diameter out to measure it")


def build_parser() -> argparse.ArgumentParser:
    return constants_parser(__doc__, CONSTANTS, {"PREPROCESS": list(preps.PREPROCESS_CHOICES),
                                                 "SCALE_BY": list(preps.SCALE_RULES)})


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.patch_size < 1 or args.stride < 1:
        raise PipelineError("--patch-size and --stride must be positive")
    manifest = read_csv(args.data / "manifest.csv", ["stem", "image", "mask", "split"], "run gt_binary.py first")
    lesions = lesions_of(manifest)
    role = split_images(manifest, 0.0, args.test_fraction, args.split_seed)  # as traintest_split.py will hold out
    held_out = {stem for stem, r in role.items() if r == "test"}
    if not args.include_test:
        manifest = manifest[manifest.split != "test"]
    if manifest.empty:
        raise PipelineError("no non-test images in the manifest; pass --include-test to tile the test set")
    prep, factors, measured = scale_rule(args, manifest, lesions, held_out)
    jobs = [PatchJob(r.stem, resolve(r.image, args.data), resolve(r.mask, args.data), args.patch_size,
                     args.stride, args.min_lesion_pixels, prep,
                     tuple(resolve(getattr(r, mask_column(c)), args.data) for c in lesions), factor)
            for r, factor in zip(manifest.itertuples(), factors, strict=True)]
    labels = pd.concat(pmap(label_patches, jobs, args.workers, "label"), ignore_index=True)
    chosen = choose(labels, args.neg_per_pos, args.seed)
    by_source = {stem: df for stem, df in chosen.groupby("source")}
    remove_stale_tmp(args.data)
    with atomic_dir(args.data / "patches") as tmp:
        (tmp / "images").mkdir()
        (tmp / "masks").mkdir()
        items = [(job, by_source.get(job.stem, chosen.iloc[:0])) for job in jobs]
        pmap(partial(_write, out_dir=tmp), items, args.workers, "patches")
        names = [patch_name(s, r, c) for s, r, c in chosen[["source", "row", "col"]].itertuples(index=False)]
        chosen.insert(0, "patch_image", [f"patches/images/{n}.jpg" for n in names])
        chosen.insert(1, "patch_mask", [f"patches/masks/{n}.png" for n in names])
        write_csv(chosen[PATCH_COLUMNS], tmp / "patches.csv")
        prep.write(tmp / preps.PREP_FILE)  # train.py stores it with the model
        write_measured(tmp, measured)
    n_pos, n_grid = int(chosen.positive.sum()), len(labels)
    print(f"{len(jobs)} images, {n_grid} grid patches ({int(labels.positive.sum())} positive): kept {len(chosen)} "
          f"= {n_pos} positive + {len(chosen) - n_pos} negative; {int(labels.padded.sum())} padded")
    if replace(prep, lesions=()) != Prep():
        scale = f"{prep.fov_diameter:g} px fields of view" if prep.scale_by == "fov" else f"working scale {prep.scale}"
        print(f"{scale} (mask share {prep.mask_share}), preprocessing {prep.preprocess}")
    if lesions:
        print(f"lesions {', '.join(lesions)}: patches hold any of them; patch masks bit-packed (bit k = lesion k)")
    print(f"wrote {args.data / 'patches'}/")
    return 0


if __name__ == "__main__":
    run_cli(main)
