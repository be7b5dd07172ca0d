"""Package a trained run as a shipped model: models/<name>/ laid out like checkpoints/ (model.keras
without optimizer state and bundle.json) plus MODEL_CARD.md with its held-out figures, which the
bundle stores too (lesionseg.zoo lists them). No ONNX export is shipped (it would double the size):
infer.py makes it once on a user's machine, in the export cache (lesionseg.export.ensure_export);
--onnx ships one beside, for a machine that cannot make it.

    .venv/bin/python -m lesionseg.ship --run runs/idrid-ex --name idrid-ex-unet8-half --structure EX
    .venv/bin/python -m lesionseg.ship --name idrid-ex-unet8-half --official runs/idrid-ex/official

`--official` records, in the shipped bundle, the figures evaluate.py wrote for the official test set
(its --results folder): scored once, after everything was chosen on other images.

evaluate.py and infer.py take `--checkpoints models/<name>` as they are; infer.py falls back to the
shipped model when checkpoints/ holds no model of the user's own.
"""

from __future__ import annotations

import argparse
import json
import shutil
from dataclasses import replace
from pathlib import Path

from .bundle import BUNDLE_FILE, Bundle
from .errors import PipelineError, run_cli
from .imageio import atomic_path
from .multi import by_lesion

MODELS = Path("models")
CARD = "MODEL_CARD.md"
SCORED = {"held_out": "held-out", "official_test": "official-test"}  # what a run's results/ scored
FIGURES = ("aupr", "aupr_33", "dice", "sensitivity", "ppv", "specificity")  # whole frame, stored with a model
# and the figures of other leaderboards: (name, metrics.json part, key)
OTHER_FIGURES = (("jaccard", "per_image_mean", "iou"), ("fov_f1", "field_of_view", "dice"),
                 ("fov_aupr", "field_of_view", "aupr"))


def reported(results: Path, single: str) -> dict[str, dict]:
    """{CODE: the whole-frame figures} of an evaluate.py --results folder, for a bundle's provenance;
    a one-lesion metrics.json does not name its lesion, which is then `single`."""
    m = json.loads((results / "metrics.json").read_text())
    out = {}
    for code, lm in (by_lesion(m) or {single: m}).items():
        test = lm["test"]
        f = test["whole_frame"]
        out[code] = {"images": int(f["images"])} | {k: float(f[k]) for k in FIGURES if k in f} | {
            name: float(test[part][key]) for name, part, key in OTHER_FIGURES if key in test.get(part, {})}
    return out


def record(dest: Path, report: str, results: Path) -> Bundle:
    """The shipped bundle with `results`' figures stored under `report` (held_out / official_test)."""
    bundle = Bundle.read(dest)
    figures = reported(results, bundle.lesions[0])
    if set(figures) != set(bundle.lesions):
        raise PipelineError(f"{results}/metrics.json scores {', '.join(figures)}, but {dest} segments "
                            f"{', '.join(bundle.lesions)}")
    updated = replace(bundle, provenance=bundle.provenance | {report: figures})
    updated.write(dest)
    return updated


def export(checkpoints: Path, dest: Path, structure: str | None = None) -> Path:
    """Write what inference needs from a checkpoints folder to `dest` (the weights and the bundle, in
    its current format, its one output named `structure` when given); refuses an unevaluated run."""
    from .checkpoints import EXPORT, load_trained, model_bundle, save_model
    from .ensemble import holds_model, member_folders
    from .model import rebuild

    if not holds_model(checkpoints):
        raise PipelineError(f"{checkpoints / EXPORT}: missing; train and evaluate the run before shipping it")
    bundle = Bundle.read(checkpoints)
    if not bundle.evaluated:
        raise PipelineError(f"{checkpoints}: no threshold chosen yet; train and evaluate the run before shipping it")
    if structure:
        bundle = bundle.named(structure)
    bundle = replace(bundle, exports={})  # the run's export record is of its folder's model.onnx, not shipped
    sources = member_folders(checkpoints, bundle) if bundle.members else [checkpoints]
    for source, folder in zip(sources, bundle.members or (".",), strict=True):
        model = load_trained(source)
        member = model_bundle(model, source, thresholds_optional=True)
        (dest / folder).mkdir(parents=True, exist_ok=True)
        save_model(rebuild(model), dest / folder / EXPORT)  # weights only: no Adam moments
        if bundle.members:  # a member's own bundle is read for its preparation, named like the ensemble
            replace(member.named(structure) if structure else member, exports={}, thresholds={}).write(dest / folder)
    bundle.write(dest)
    return dest / (bundle.members[0] if bundle.members else ".") / EXPORT


def scored_set(bundle: Bundle, results: Path | None = None) -> str:
    """What a run's results/ scored: "official_test" when its held-out photographs are the layout's own
    testing set (a model trained on every official training photograph), else "held_out". The layout is
    the workspace evaluate.py scored, as its metrics.json records it (the training workspace may be gone
    by the time a model is scored again and re-shipped); the training workspace where it does not."""
    from .split import scores_testing_set

    prov = bundle.provenance
    data = prov.get("data", "")
    metrics = results / "metrics.json" if results else None
    if metrics and metrics.is_file():
        data = json.loads(metrics.read_text()).get("settings", {}).get("data", data)
    official = scores_testing_set(Path(data), prov.get("split", {}).get("held_out", []))
    return "official_test" if official else "held_out"


def card_figures(results: Path, report: str = "held_out") -> str:
    """The figures of a run's metrics.json, as markdown lines for the model card (a section per lesion
    for a model of several)."""
    m = json.loads((results / "metrics.json").read_text())
    if lesions := by_lesion(m):
        return "".join(f"\n{code}:\n" + _figures(lm, SCORED[report]) for code, lm in lesions.items())
    return _figures(m, SCORED[report])


def _figures(m: dict, scored: str) -> str:
    f = m["test"]["whole_frame"]
    lesion = m["lesion_level"].get("at_threshold", {})
    sens, fp = lesion.get("sensitivity", float("nan")), lesion.get("fp_per_image", float("nan"))
    overlap = m["lesion_level"]["overlap"]
    return (f"- threshold {m['threshold']:.3f} ({m['threshold_rule']}, chosen on {m['threshold_chosen_on']})\n"
            f"- {scored} images ({f['images']}), whole frame: AUPR-33 {f['aupr_33']:.3f}, AUPR {f['aupr']:.3f}, "
            f"sensitivity {f['sensitivity']:.3f}, specificity {f['specificity']:.4f}, PPV {f['ppv']:.3f}, "
            f"Dice {f['dice']:.3f}\n"
            f"- lesion level ({overlap:.0%} overlap) at the threshold: sensitivity {sens:.3f}, {fp:.1f} "
            "false-positive components per image\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", type=Path, default=None, help="a run folder with checkpoints/ and results/")
    ap.add_argument("--name", required=True, help="folder name under models/")
    ap.add_argument("--models", type=Path, default=MODELS)
    ap.add_argument("--structure", default=None,
                    help="the code of a one-output run's structure (EX, HE, MA, SE, OD, vessels), stored with it")
    ap.add_argument("--onnx", action="store_true",
                    help="ship the ONNX export beside model.keras (twice the size; infer.py otherwise makes it once)")
    ap.add_argument("--official", type=Path, default=None,
                    help="an evaluate.py --results folder of the official test set: store its figures")
    args = ap.parse_args(argv)
    dest = args.models / args.name
    if args.official is not None:
        if not (dest / BUNDLE_FILE).is_file():
            raise PipelineError(f"{dest}: no shipped model there; ship it first (--run)")
        bundle = record(dest, "official_test", args.official)
        print(f"{dest / BUNDLE_FILE}: official-test figures stored: {bundle.provenance['official_test']}")
        _card(dest, bundle)
        return 0
    if args.run is None:
        raise PipelineError("give --run (the run to ship) or --official (its official-test results)")
    from .quiet import quiet_tensorflow

    quiet_tensorflow()  # Keras loaded without its start-up noise, before the imports below load it
    from .checkpoints import EXPORT

    stage = _staging(dest)
    export(args.run / "checkpoints", stage, args.structure)
    if args.onnx:
        from .ensemble import model_folders
        from .export import export_onnx

        for folder in model_folders(stage):
            export_onnx(folder)
    report = scored_set(Bundle.read(stage), args.run / "results")
    bundle = record(stage, report, args.run / "results")
    with atomic_path(stage / "figures.md") as tmp:
        tmp.write_text(card_figures(args.run / "results", report))
    _card(stage, bundle, shown=dest)
    size = sum(f.stat().st_size for f in stage.rglob(EXPORT)) / 1e6
    replaced = _swap_in(stage, dest)
    print(f"shipped {dest} ({size:.1f} MB of weights){', replacing the model shipped there' if replaced else ''}; "
          f"{SCORED[report]} figures in {dest / 'figures.md'}")
    return 0


def _staging(dest: Path) -> Path:
    """An empty folder beside `dest` that the new model is written into, so that a failure half-way
    leaves `dest` as it was (or absent) and never half a model where infer.py looks. A hand-written
    card in `dest` is carried over, since write_card keeps it."""
    stage = dest.with_name(f".{dest.name}.partial")
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True)
    if (dest / CARD).is_file():
        shutil.copy2(dest / CARD, stage / CARD)
    return stage


def _swap_in(stage: Path, dest: Path) -> bool:
    """Put the finished `stage` at `dest` by renames; True when an earlier model was there."""
    old = dest.with_name(f".{dest.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    replaced = dest.exists()
    if replaced:
        dest.rename(old)
    stage.rename(dest)
    shutil.rmtree(old, ignore_errors=True)
    return replaced


def _card(folder: Path, bundle: Bundle, shown: Path | None = None) -> None:
    """The card written into `folder`, named and reported as `shown` (the shipped folder it becomes)."""
    from .card import write_card

    shown = shown or folder
    if write_card(folder, bundle, shown.name):
        print(f"wrote {shown / CARD} from the bundle (delete its first line before editing it by hand)")
    else:
        print(f"{shown / CARD} was written by hand: kept as it is; update its figures yourself")


if __name__ == "__main__":
    run_cli(main)
