"""The shipped models under models/: what each segments, its figures and size, and the folders that
`infer.py --models` runs (all of them, or a list of names) in one pass.

    python -m lesionseg.zoo                 # the table (--csv FILE writes it for pandas)
    python infer.py --models all photos/    # every structure, one overlay, one areas.csv

A model's figures are read from its bundle (lesionseg.bundle), where `python -m lesionseg.ship`
stores the held-out ones and `--official` the official test set's, scored once.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from .bundle import BUNDLE_FILE, Bundle
from .errors import PipelineError, run_cli

MODELS = Path(__file__).resolve().parents[1] / "models"
# Each structure's headline figures, as its leaderboard gives them: AUPR of the whole frame for the IDRiD
# lesions, the mean per-photograph Jaccard for the optic disc, F1 inside the field of view for DRIVE's vessels
HEADLINE = {"OD": ("jaccard", "dice"), "vessels": ("fov_f1", "fov_aupr")}
LESION_HEADLINE = ("aupr", "dice")
LABELS = {"aupr": "AUPR", "dice": "Dice", "jaccard": "mean Jaccard", "fov_f1": "FOV F1", "fov_aupr": "FOV AUPR",
          "aupr_33": "AUPR-33", "sensitivity": "sensitivity", "ppv": "PPV", "specificity": "specificity"}


def headline(code: str) -> tuple[str, ...]:
    """The figures a structure is ranked by, first the one its leaderboard sorts on."""
    return HEADLINE.get(code, LESION_HEADLINE)


@dataclass(frozen=True)
class Entry:
    name: str
    folder: Path
    bundle: Bundle

    @property
    def megabytes(self) -> float:
        """What the folder weighs on disk (the Keras model, and its ONNX export if shipped beside)."""
        return sum(f.stat().st_size for f in self.folder.rglob("*") if f.is_file()) / 1e6  # an ensemble's members too

    def figure(self, code: str, report: str) -> str:
        """e.g. 'AUPR 0.870, Dice 0.785 (27 images)'; '' when the bundle holds no such figures."""
        figures = self.bundle.provenance.get(report, {}).get(code)
        if not figures:
            return ""
        shown = ", ".join(f"{LABELS[k]} {figures[k]:.3f}" for k in headline(code) if k in figures)
        return f"{shown} ({figures['images']} images)"


def entries(root: Path = MODELS) -> list[Entry]:
    """Every model folder under `root` (one with a bundle), sorted by name."""
    if not root.is_dir():
        return []
    return [Entry(d.name, d, Bundle.read(d)) for d in sorted(root.iterdir())
            if not d.name.startswith(".") and (d / BUNDLE_FILE).is_file()]  # ".x.partial": a ship under way


def pick(spec: str, root: Path = MODELS) -> list[Path]:
    """The folders of `spec`: 'all', or comma-separated names, in the order typed."""
    known = {e.name: e.folder for e in entries(root)}
    if not known:
        raise PipelineError(f"{root}: no shipped models there")
    if spec.strip() == "all":
        return list(known.values())
    names = [n.strip() for n in spec.split(",") if n.strip()]
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise PipelineError(f"--models {spec}: no shipped model {', '.join(unknown) or '(none named)'}; "
                            f"use all, or names from {', '.join(known)} (python -m lesionseg.zoo lists them)")
    if len(set(names)) != len(names):
        raise PipelineError(f"--models {spec}: a model is named twice")
    return [known[n] for n in names]


def rows(root: Path = MODELS) -> list[dict]:
    """One row per model and structure: name, structure, figures, size."""
    out = []
    for e in entries(root):
        for code in e.bundle.lesions:
            out.append({"model": e.name, "structure": code, "official_test": e.figure(code, "official_test"),
                        "held_out": e.figure(code, "held_out"), "megabytes": round(e.megabytes, 1)})
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", type=Path, default=MODELS, help="the folder of shipped models")
    ap.add_argument("--csv", type=Path, default=None, help="also write the table as CSV")
    args = ap.parse_args(argv)
    import pandas as pd

    table = pd.DataFrame(rows(args.models), columns=["model", "structure", "official_test", "held_out", "megabytes"])
    if table.empty:
        print(f"no shipped models in {args.models}/")
        return 0
    print(table.to_string(index=False))
    if args.csv:
        from .imageio import write_csv

        write_csv(table, args.csv)
    return 0


if __name__ == "__main__":
    run_cli(main)
