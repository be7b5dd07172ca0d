"""Train / validation / test split by whole image (no image on two sides), or the paper's leaky
80/20 split by patch when asked for."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def seeded_pick(stems: list[str], fraction: float, seed: int, at_least_one: bool = True) -> set[str]:
    """A seeded subset of sorted stems: the same inputs and seed always give the same subset."""
    stems = sorted(stems)
    if fraction <= 0 or not stems:
        return set()
    n = int(round(fraction * len(stems)))
    if at_least_one:
        n = max(1, n)
    n = min(n, len(stems) - 1) if len(stems) > 1 else n
    rng = np.random.default_rng(seed)
    return {stems[i] for i in rng.choice(len(stems), size=n, replace=False)}


def testing_set(manifest: pd.DataFrame) -> set[str]:
    """The stems the layout itself marks as its testing set (IDRiD's "b. Testing Set", DRIVE's test/)."""
    return set(manifest.loc[manifest.split == "test", "stem"]) if "split" in manifest.columns else set()


def scores_testing_set(data: Path, held_out: list[str]) -> bool:
    """True when a run's held-out photographs are its layout's own testing set (the official test set
    of IDRiD or DRIVE), so that their figures are official-test figures; False when they were drawn
    from the training photographs, or the workspace is gone."""
    from .imageio import read_csv

    manifest = data / "manifest.csv"
    if not held_out or not manifest.is_file():
        return False
    return set(held_out) <= testing_set(read_csv(manifest, ["stem"], "run gt_binary.py again"))


MEASURED_FILE = "measured_on.json"  # in data/patches/: the photographs the preparation's statistics came from


def write_measured(folder: Path, stems: list[str]) -> None:
    """The photographs extract_patches.py measured the fov width or colour medians on (none: nothing
    measured), so that traintest_split.py can tell when it holds out one of them."""
    import json

    from .imageio import atomic_path

    with atomic_path(folder / MEASURED_FILE) as tmp:
        tmp.write_text(json.dumps({"stems": sorted(stems)}, indent=1))


def measured_held_out(data: Path, held_out: set[str]) -> list[str]:
    """The held-out photographs the workspace's preparation was measured on (a workspace made
    before the record existed: none known)."""
    import json

    path = data / "patches" / MEASURED_FILE
    if not path.is_file():
        return []
    return sorted(set(json.loads(path.read_text()).get("stems", [])) & held_out)


def split_images(manifest: pd.DataFrame, val_fraction: float, test_fraction: float, seed: int,
                 stratify: bool = False) -> dict[str, str]:
    """stem -> 'train' | 'val' | 'test'. The layout's testing set is the test set when there is one.
    With `stratify` the validation photographs are drawn among those with the lesion and those
    without it apart, each in the proportion `val_fraction` (the held-out draw is the same either way)."""
    stems = sorted(manifest.stem)
    marked = testing_set(manifest)
    test = marked if marked else seeded_pick(stems, test_fraction, seed)
    rest = [s for s in stems if s not in test]
    if stratify:
        has = with_lesion(manifest)
        groups = [[s for s in rest if s in has], [s for s in rest if s not in has]]
        val = set().union(*(seeded_pick(g, val_fraction, seed + 1) for g in groups))
    else:
        val = seeded_pick(rest, val_fraction, seed + 1)
    return {s: "test" if s in test else "val" if s in val else "train" for s in stems}


def with_lesion(manifest: pd.DataFrame) -> set[str]:
    """The photographs with any lesion pixel (of any lesion, in a workspace of several), from
    gt_binary.py's lesion_fraction column."""
    if "lesion_fraction" not in manifest.columns:
        from .errors import PipelineError

        raise PipelineError("manifest.csv has no lesion_fraction column: run gt_binary.py again to stratify")
    return set(manifest.loc[manifest.lesion_fraction > 0, "stem"])


def split_patches(patches: pd.DataFrame, val_fraction: float, seed: int) -> pd.Series:
    """The paper code's split: patch file names shuffled and cut 80/20, whatever image they came from."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(patches))
    n_val = int(round(val_fraction * len(patches)))
    role = np.full(len(patches), "train", dtype=object)
    role[order[:n_val]] = "val"
    return pd.Series(role, index=patches.index)


def leaked_images(train: pd.DataFrame, val: pd.DataFrame) -> set[str]:
    return set(train.source) & set(val.source)


def split_record(data: Path) -> dict[str, list[str]]:
    """The photographs (stems) a run was trained, validated and held out on, as a model's provenance
    stores them: from the workspace's train.csv sources, val_images.csv and test.csv."""
    from .imageio import TEXT_COLUMNS

    out = {}
    for key, name, column in (("train", "train.csv", "source"), ("validation", "val_images.csv", "stem"),
                              ("held_out", "test.csv", "stem")):
        path = data / name  # stems as text: DRIVE's "01" is not the number 1
        table = (pd.read_csv(path, dtype=TEXT_COLUMNS, keep_default_na=False)
                 if path.is_file() and path.stat().st_size else pd.DataFrame())
        out[key] = sorted(set(table[column])) if column in table.columns else []
    return out
