"""Markdown tables of the figures in runs/<name>/results/metrics.json, for RESULTS.md.

    .venv/bin/python bench/summarize_runs.py runs/idrid-ex runs/drive runs/idrid-he
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd

KEYS = ["sensitivity", "specificity", "ppv", "dice", "iou", "aupr", "aupr_33", "roc_auc"]


def main() -> None:
    for run in map(Path, sys.argv[1:]):
        m = json.loads((run / "results" / "metrics.json").read_text())
        hist = pd.read_csv(run / "checkpoints" / "history.csv")
        print(f"### {run.name}\n")
        print(f"threshold {m['threshold']:.3f} ({m['threshold_rule']}, chosen on {m['threshold_chosen_on']}); "
              f"{m['test']['whole_frame']['images']} held-out images; trained {len(hist)} epochs in "
              f"{hist.wall_seconds.iloc[-1] / 60:.0f} min, final val loss {hist.val_loss.iloc[-1]:.4f}\n")
        print("| region | " + " | ".join(KEYS) + " |")
        print("|---" * (len(KEYS) + 1) + "|")
        for name, key in (("whole frame", "whole_frame"), ("field of view", "field_of_view")):
            print(f"| {name} | " + " | ".join(f"{m['test'][key][k]:.4f}" for k in KEYS) + " |")
        opt = m["test_optimal_LABELLED_NOT_FOR_REPORTING_AS_HELD_OUT"]
        print(f"\ntest-optimal threshold (labelled, not a held-out figure): {opt['threshold']:.3f}, "
              f"sensitivity {opt['whole_frame']['sensitivity']:.4f}, PPV {opt['whole_frame']['ppv']:.4f}, "
              f"Dice {opt['whole_frame']['dice']:.4f}")
        lesion = m["lesion_level"]
        i = min(range(len(lesion["threshold"])), key=lambda k: abs(lesion["threshold"][k] - m["threshold"]))
        print(f"lesion level (overlap {lesion['overlap']}) at threshold {lesion['threshold'][i]}: sensitivity "
              f"{lesion['sensitivity'][i]:.4f}, {lesion['fp_per_image'][i]:.1f} false-positive lesions per image\n")


if __name__ == "__main__":
    main()
