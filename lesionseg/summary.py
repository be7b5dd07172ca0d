"""The headline figures of an evaluation, one line per lesion: what `make demo` ends by printing.

    python -m lesionseg.summary results/metrics.json

Reads the metrics.json that evaluate.py wrote (one lesion at the top level, or several under
"lesions") and prints the testing images' whole-frame Dice, sensitivity, PPV and AUPR. It lives
here, not as shell-quoted Python in the Makefile, so that a test can run it.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from .errors import PipelineError, run_cli
from .multi import by_lesion

FIGURES = {"dice": "Dice", "sensitivity": "sensitivity", "ppv": "PPV", "aupr": "AUPR"}  # key: as printed


def read_metrics(path: Path) -> dict:
    """evaluate.py's metrics.json, or a PipelineError that says what to run."""
    if not path.is_file():
        raise PipelineError(f"{path}: not found; run evaluate.py first")
    try:
        metrics = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise PipelineError(f"{path}: unreadable ({exc}); run evaluate.py again") from None
    if not isinstance(metrics, dict):
        raise PipelineError(f"{path}: not an evaluate.py metrics file; run evaluate.py again")
    return metrics


def summary_lines(metrics: dict, what: str = "testing images", source: str = "metrics.json") -> list[str]:
    """One line per lesion: '<label> on the N <what>: Dice ..., sensitivity ..., PPV ..., AUPR ...'."""
    per_lesion = by_lesion(metrics) or {"": metrics}
    lines = []
    for code, m in per_lesion.items():
        try:
            frame = m["test"]["whole_frame"]
            values = {k: float(frame[k]) for k in FIGURES}
            images = int(frame["images"])
        except (KeyError, TypeError, ValueError):
            raise PipelineError(f"{source}: no test figures{' for ' + code if code else ''}; "
                                "run evaluate.py again") from None
        label = f"{code} model" if code else "model"
        shown = ", ".join(f"{FIGURES[k]} {'n/a' if math.isnan(v) else f'{v:.3f}'}" for k, v in values.items())
        lines.append(f"{label} on the {images} {what}: {shown}")
    return lines


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("metrics", type=Path, help="the metrics.json that evaluate.py wrote")
    parser.add_argument("--what", default="testing images", help="how the scored images are named in the line")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    for line in summary_lines(read_metrics(args.metrics), args.what, str(args.metrics)):
        print(line)
    return 0


if __name__ == "__main__":
    run_cli(main)
