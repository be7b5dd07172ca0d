"""Batch runs over many photographs: a deterministic share of the inputs (`--part K/N`), the tables
each share writes, and whether an output folder holds a run with the same model and settings, which
a restarted run then continues instead of starting over."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from .imageio import atomic_path

RUN_FILE = "infer_run.json"


def parse_part(text: str) -> tuple[int, int]:
    """'2/8' -> (2, 8): the second of eight shares; an argparse type."""
    try:
        k, n = (int(v) for v in str(text).split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"part must look like 2/8 (the 2nd of 8 shares), got {text!r}") from None
    if not 1 <= k <= n:
        raise argparse.ArgumentTypeError(f"part {text}: K must be between 1 and N")
    return k, n


def share(files: list[Path], part: tuple[int, int]) -> list[Path]:
    """Every N-th input from the K-th: the N shares are disjoint, cover the inputs, and differ in
    size by at most one, whatever the order or speed of the machines that run them."""
    k, n = part
    return files[k - 1 :: n]


def tables(out: Path, part: tuple[int, int]) -> tuple[Path, Path]:
    """(areas table, errors table) of a share: areas.csv and errors.csv for a whole run."""
    k, n = part
    suffix = "" if n == 1 else f"-part-{k}-of-{n}"
    return out / f"areas{suffix}.csv", out / f"errors{suffix}.csv"


def continues(out: Path, signature: dict[str, Any]) -> bool:
    """Whether `out` holds a run made with exactly these settings; records them either way, so the
    next start compares against this one."""
    path = out / RUN_FILE
    try:
        same = json.loads(path.read_text()) == json.loads(json.dumps(signature))
    except (OSError, json.JSONDecodeError):
        same = False
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(signature, indent=2, sort_keys=True))
    return same
