"""Package a trained run as a shipped model: models/<name>/ laid out like checkpoints/ (model.keras
without optimizer state, bundle.json, and model.onnx for the faster engines unless --no-onnx) plus
MODEL_CARD.md with its held-out figures.

    .venv/bin/python -m lesionseg.ship --run runs/idrid-ex --name idrid-ex-unet8-half

evaluate.py and infer.py take `--checkpoints models/<name>` as they are; infer.py falls back to the
shipped model when checkpoints/ holds no model of the user's own.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .checkpoints import EXPORT, load_trained, model_bundle, save_model
from .errors import PipelineError, run_cli
from .imageio import atomic_path
from .model import rebuild
from .multi import by_lesion

MODELS = Path("models")
CARD = "MODEL_CARD.md"


def export(checkpoints: Path, dest: Path) -> Path:
    """Write what inference needs from a checkpoints folder to `dest` (the weights and the bundle, in
    its current format); refuses an unevaluated run."""
    if not (checkpoints / EXPORT).is_file():
        raise PipelineError(f"{checkpoints / EXPORT}: missing; train and evaluate the run before shipping it")
    model = load_trained(checkpoints)
    bundle = model_bundle(model, checkpoints)
    if not bundle.evaluated:
        raise PipelineError(f"{checkpoints}: no threshold chosen yet; train and evaluate the run before shipping it")
    dest.mkdir(parents=True, exist_ok=True)
    save_model(rebuild(model), dest / EXPORT)  # weights only: no Adam moments
    bundle.write(dest)
    return dest / EXPORT


def card_figures(results: Path) -> str:
    """The held-out figures of a run's metrics.json, as markdown lines for the model card (a section
    per lesion for a model of several)."""
    m = json.loads((results / "metrics.json").read_text())
    if lesions := by_lesion(m):
        return "".join(f"\n{code}:\n" + _figures(lm) for code, lm in lesions.items())
    return _figures(m)


def _figures(m: dict) -> str:
    f = m["test"]["whole_frame"]
    lesion = m["lesion_level"].get("at_threshold", {})
    sens, fp = lesion.get("sensitivity", float("nan")), lesion.get("fp_per_image", float("nan"))
    overlap = m["lesion_level"]["overlap"]
    return (f"- threshold {m['threshold']:.3f} ({m['threshold_rule']}, chosen on {m['threshold_chosen_on']})\n"
            f"- held-out images ({f['images']}), whole frame: AUPR-33 {f['aupr_33']:.3f}, AUPR {f['aupr']:.3f}, "
            f"sensitivity {f['sensitivity']:.3f}, specificity {f['specificity']:.4f}, PPV {f['ppv']:.3f}, "
            f"Dice {f['dice']:.3f}\n"
            f"- lesion level ({overlap:.0%} overlap) at the threshold: sensitivity {sens:.3f}, {fp:.1f} "
            "false-positive components per image\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", type=Path, required=True, help="a run folder with checkpoints/ and results/")
    ap.add_argument("--name", required=True, help="folder name under models/")
    ap.add_argument("--models", type=Path, default=MODELS)
    ap.add_argument("--no-onnx", action="store_true", help="ship without the ONNX export (lesionseg.export)")
    args = ap.parse_args(argv)
    dest = args.models / args.name
    path = export(args.run / "checkpoints", dest)
    if not args.no_onnx:
        from .export import export_onnx

        export_onnx(dest)
    with atomic_path(dest / "figures.md") as tmp:
        tmp.write_text(card_figures(args.run / "results"))
    size = path.stat().st_size / 1e6
    print(f"shipped {path} ({size:.1f} MB); held-out figures in {dest / 'figures.md'}; write {dest / CARD}")
    return 0


if __name__ == "__main__":
    run_cli(main)
