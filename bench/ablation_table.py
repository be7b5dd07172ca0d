"""One markdown row per run folder (bench/ablate_idrid.sh's runs/abl/NAME, or a reproduce run with
checkpoints/ and results/): held-out AUPR-33, AUPR, sensitivity / PPV / Dice at the validation
threshold, lesion-level sensitivity and false-positive components per image at that threshold,
training minutes and the best epoch. A model of several lesions (its metrics.json keyed by lesion)
gets one row per lesion, in the model's output order, each with the model's whole training time.

    .venv/bin/python bench/ablation_table.py runs/abl/A_grid runs/abl/B_crops [--results results-tta]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from lesionseg.multi import by_lesion


def rows(run: Path, results: str) -> list[str]:
    """The run's row, or one per lesion for a model of several lesions (the same training for each)."""
    path = run / results / "metrics.json"
    if not path.is_file():
        raise SystemExit(f"error: no metrics.json in {run / results}: run evaluate.py on {run} first")
    metrics = json.loads(path.read_text())
    named = {f"{run.name} {code}": m for code, m in by_lesion(metrics).items()} or {run.name: metrics}
    ck = run / "ck" if (run / "ck").is_dir() else run / "checkpoints"
    hist = pd.read_csv(ck / "history.csv")
    state = json.loads((ck / "state.json").read_text())
    return [row(m, name, hist, state) for name, m in named.items()]


def row(m: dict, name: str, hist: pd.DataFrame, state: dict) -> str:
    f = m["test"]["whole_frame"]
    lesion = m["lesion_level"].get("at_threshold", {})
    minutes = hist.wall_seconds.iloc[-1] / 60
    return (f"| {name} | {f['aupr_33']:.3f} | {f['aupr']:.3f} | {f['sensitivity']:.3f} | {f['ppv']:.3f} | "
            f"{f['dice']:.3f} | {lesion.get('sensitivity', float('nan')):.3f} / "
            f"{lesion.get('fp_per_image', float('nan')):.1f} | {m['threshold']:.3f} | {state['best_epoch']} of "
            f"{int(hist.epoch.iloc[-1])} | {minutes:.0f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("--results", default="results", help="results folder name inside each run")
    args = ap.parse_args()
    print("| row | AUPR-33 | AUPR | sensitivity | PPV | Dice | lesion sens. / FP per image | threshold | best epoch "
          "| train min |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for run in args.runs:
        print("\n".join(rows(run, args.results)))


if __name__ == "__main__":
    main()
