"""Batch runs over many photographs: a deterministic share of the inputs (`--part K/N`), the tables
each share writes, whether an output folder holds a run with the same model and settings, which a
restarted run then continues instead of starting over, and a loop that reads the next photograph
and writes the last one's outputs while the network runs on this one."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from .errors import PipelineError
from .imageio import atomic_path

RUN_FILE = "infer_run.json"


def list_inputs(inputs: list[str], out: Path) -> list[Path]:
    """The photographs to segment, each once, in the order given: files, folders (their images, sorted),
    glob patterns ("photos/*/*.jpg", sorted) and CSV files of paths (the `image` column, or the first;
    relative paths are taken from the CSV's folder). Two files whose outputs would share a name are
    refused."""
    import glob

    from .imageio import IMAGE_EXTS, list_images

    files: list[Path] = []
    for text in inputs:
        p = Path(text)
        if p.is_dir():
            found = list_images(p)
            if not found:
                raise PipelineError(f"{p}: folder holds no images")
            files += found
        elif p.is_file() and p.suffix.lower() == ".csv":
            files += _listed(p)
        elif p.is_file():
            files.append(p)
        elif glob.has_magic(text):
            found = [Path(m) for m in sorted(glob.glob(text, recursive=True)) if Path(m).suffix.lower() in IMAGE_EXTS]
            if not found:
                raise PipelineError(f"{text}: the pattern matches no images")
            files += found
        else:
            raise PipelineError(f"{p}: no such file or folder")
    by_stem: dict[str, Path] = {}  # first mention kept, in order
    for f in files:
        if (other := by_stem.setdefault(f.stem, f)).resolve() != f.resolve():
            raise PipelineError(f"{other} and {f} would both write {f.stem}_prob.png, {f.stem}_mask.png and "
                                f"{f.stem}_overlay.png in {out}/; segment them in separate runs (another --out), "
                                "or rename one")
    return list(by_stem.values())


def _listed(table: Path) -> list[Path]:
    import pandas as pd

    try:
        frame = pd.read_csv(table, dtype=str)
        if "image" not in frame.columns:  # no header: a plain list of paths
            frame = pd.read_csv(table, dtype=str, header=None).rename(columns={0: "image"})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise PipelineError(f"{table}: not a readable CSV of photograph paths ({exc})") from None
    paths = [Path(p) for p in frame["image"].dropna()]
    if not paths:
        raise PipelineError(f"{table}: lists no photographs; give it an `image` column of paths")
    return [p if p.is_absolute() else table.parent / p for p in paths]


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


def failures(errors: list[dict], table: Path) -> int:
    """The exit status of a batch run: 1, with one error line naming the photographs, when some failed."""
    if not errors:
        return 0
    names = ", ".join(Path(r["image"]).name for r in errors)
    print(f"error: {len(errors)} image(s) could not be read: {names} ({table})", file=sys.stderr)
    return 1


def pipelined(items: list[Any], read: Callable[[Any], Any], compute: Callable[[Any, Any], Any],
              write: Callable[[Any, Any, Any], None], failed: Callable[[Any, PipelineError], None]) -> Iterator[Any]:
    """For each item in order: read(item) (one thread, one item ahead), compute(item, read) here, and
    write(item, read, computed) (one thread, so outputs are written in the inputs' order); yields each
    item once its outputs are on their way. The network releases Python's lock, so reading, decoding,
    preparing and PNG encoding overlap it. An item whose read raises PipelineError goes to
    `failed` and the run goes on; any other error, or a failed write, stops the run."""
    with ThreadPoolExecutor(1, "read") as reader, ThreadPoolExecutor(1, "write") as writer:
        ahead: Future | None = reader.submit(read, items[0]) if items else None
        writing: Future | None = None
        for i, item in enumerate(items):
            try:
                loaded, error = ahead.result(), None
            except PipelineError as exc:
                loaded, error = None, exc
            ahead = reader.submit(read, items[i + 1]) if i + 1 < len(items) else None
            if error is not None:
                failed(item, error)
                yield item
                continue
            result = compute(item, loaded)
            if writing is not None:
                writing.result()
            writing = writer.submit(write, item, loaded, result)
            yield item
        if writing is not None:
            writing.result()
