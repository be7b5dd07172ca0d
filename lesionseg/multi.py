"""Several lesions in one model: the lesion list, the bit-packed masks that carry them, and the
per-lesion names of columns and files.

A single-lesion workspace is exactly as before: 0/255 masks and one model output. With two or more
lesions (`--lesion EX,HE`), data/masks/<stem>.png holds their union (what patch and crop sampling
look at), data/masks/<CODE>/<stem>.png each lesion, and the manifest one `mask_<CODE>` column per
lesion. Patch masks and the in-memory training masks are then bit-packed: bit k set where lesion k
is, so one uint8 PNG carries up to eight overlapping lesions and unpacks into one channel each.
A single lesion's 0/255 (or 0/1) mask is the one-lesion case of the same encoding (bit 0 is set in
255), so every reader unpacks the same way whatever the number of lesions.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from .errors import PipelineError

MAX_LESIONS = 8  # bits in a uint8 mask
COLOURS = {"EX": (255, 235, 0), "HE": (0, 90, 255), "MA": (255, 0, 255), "SE": (0, 255, 120), "OD": (255, 255, 255)}
OTHER_COLOURS = ((0, 255, 255), (255, 140, 0), (160, 80, 255))


def parse_lesions(text: str, known: tuple[str, ...]) -> tuple[str, ...]:
    """'EX,he' -> ('EX', 'HE'), in the order typed (the order of the model's outputs)."""
    codes = tuple(c.strip().upper() for c in str(text).split(",") if c.strip())
    if not codes:
        raise PipelineError(f"--lesion is empty; use one or more of {', '.join(known)}, comma-separated")
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise PipelineError(f"invalid choice: {unknown[0]!r} (use one or more of {', '.join(known)}, "
                            "comma-separated, e.g. --lesion EX,HE)")
    if len(set(codes)) != len(codes):
        raise PipelineError(f"--lesion {text}: a lesion is named twice; name each once")
    if len(codes) > MAX_LESIONS:
        raise PipelineError(f"--lesion {text}: at most {MAX_LESIONS} lesions in one model")
    return codes


def lesion_type(known: tuple[str, ...]):
    """An argparse type for --lesion: the validated tuple of codes."""

    def parse(text: str) -> tuple[str, ...]:
        try:
            return parse_lesions(text, known)
        except PipelineError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


def mask_column(code: str) -> str:
    return f"mask_{code}"


def lesions_of(table: pd.DataFrame) -> tuple[str, ...]:
    """The lesions a manifest (or an image table) carries, from its `mask_<CODE>` columns, in order;
    empty for a single-lesion table."""
    return tuple(c[len("mask_"):] for c in table.columns if c.startswith("mask_"))


def by_lesion(metrics: dict) -> dict[str, dict]:
    """{CODE: metrics} from the metrics.json of a model of several lesions (evaluate.py writes them
    under "lesions"); empty for a single lesion's, whose figures are the top level itself."""
    return metrics.get("lesions", {})


def pack(masks: list[np.ndarray]) -> np.ndarray:
    """Bool HxW masks -> uint8 HxW with bit k set where masks[k] is."""
    out = np.zeros(masks[0].shape, np.uint8)
    for k, m in enumerate(masks):
        out |= m.astype(np.uint8) << k
    return out


def unpack(packed: np.ndarray, channels: int) -> np.ndarray:
    """uint8 HxW packed mask -> uint8 HxWxK of 0/1, one channel per lesion."""
    return ((packed[..., None] >> np.arange(channels, dtype=np.uint8)) & 1).astype(np.uint8)


def colour(code: str, k: int) -> tuple[int, int, int]:
    return COLOURS.get(code, OTHER_COLOURS[k % len(OTHER_COLOURS)])


def per_lesion_weights(weights: float | tuple[float, ...], lesions: tuple[str, ...]) -> float | tuple[float, ...]:
    """--pos-weight: one value for every lesion, or one per lesion in --lesion order."""
    if isinstance(weights, float):
        return weights
    if len(weights) != max(1, len(lesions)):
        raise PipelineError(f"--pos-weight has {len(weights)} values but the data holds {max(1, len(lesions))} "
                            f"lesion(s) ({', '.join(lesions) or 'one'}); give one value, or one per lesion")
    return weights


def parse_weights(text: str) -> float | tuple[float, ...]:
    """'3' -> 3.0, '3,6' -> (3.0, 6.0)."""
    try:
        values = tuple(float(v) for v in str(text).split(","))
    except ValueError:
        raise PipelineError(f"--pos-weight {text}: use a number, or numbers separated by commas") from None
    if any(v <= 0 for v in values):
        raise PipelineError(f"--pos-weight {text}: weights must be positive")
    return values[0] if len(values) == 1 else values
