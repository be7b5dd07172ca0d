"""Process-parallel map with a progress bar; results come back in input order (determinism)."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from tqdm import tqdm


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def pmap(fn: Callable[[Any], Any], items: Sequence[Any], workers: int, desc: str) -> list[Any]:
    if workers <= 1 or len(items) <= 1:
        return [fn(it) for it in tqdm(items, desc=desc, unit="img", leave=False)]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(tqdm(pool.map(fn, items), total=len(items), desc=desc, unit="img", leave=False))
