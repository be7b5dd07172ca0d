"""Dataset layouts on disk -> one list of samples (image, raw mask, FOV mask, split), paired by stem."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .errors import PipelineError, warn
from .imageio import list_images

LESIONS = {
    "MA": "1. Microaneurysms",
    "HE": "2. Haemorrhages",
    "EX": "3. Hard Exudates",
    "SE": "4. Soft Exudates",
    "OD": "5. Optic Disc",
}
IDRID_SPLITS = {"a. Training Set": "train", "b. Testing Set": "test"}
DRIVE_SPLITS = {"training": "train", "test": "test"}


@dataclass(frozen=True)
class Sample:
    stem: str
    image: Path
    mask: Path | None  # None: no lesion of this kind in the image (an all-background mask)
    fov: Path | None  # field-of-view mask when the dataset ships one
    split: str  # "train", "test" or "" when the layout does not say


def _idrid_root(raw: Path) -> Path | None:
    for cand in (raw, raw / "A. Segmentation"):
        if (cand / "1. Original Images").is_dir():
            return cand
    return None


def _drive_dirs(raw: Path) -> list[tuple[Path, str]]:
    if (raw / "images").is_dir() and (raw / "1st_manual").is_dir():
        return [(raw, DRIVE_SPLITS.get(raw.name, ""))]
    return [(raw / name, split) for name, split in DRIVE_SPLITS.items() if (raw / name / "images").is_dir()]


def detect_layout(raw: Path) -> str:
    if not raw.is_dir():
        raise PipelineError(f"{raw}: dataset folder not found; pass --raw with your download's location")
    if _idrid_root(raw):
        return "idrid"
    if _drive_dirs(raw):
        return "drive"
    if (raw / "images").is_dir() and (raw / "masks").is_dir():
        return "plain"
    raise PipelineError(
        f"{raw}: unknown layout; expected the IDRiD 'A. Segmentation' folders, DRIVE's "
        "training/images + 1st_manual, or an images/ + masks/ pair (see data/README.md)"
    )


def pair(
    images: list[Path],
    masks: list[Path],
    mask_key,
    split: str,
    fovs: dict[str, Path] | None = None,
    image_key=lambda p: p.stem,
) -> list[Sample]:
    """Pair by stem; a mask without its image is an error, an image without mask is lesion-free."""
    by_stem = {}
    for img in images:
        key = image_key(img)
        if key in by_stem:
            raise PipelineError(f"{img}: two images share the stem {key!r} (also {by_stem[key]}); keep one")
        by_stem[key] = img
    mask_for: dict[str, Path] = {}
    for m in masks:
        key = mask_key(m)
        if key is None:
            raise PipelineError(f"{m}: mask name does not follow the dataset's naming; rename or remove it")
        if key not in by_stem:
            raise PipelineError(
                f"{m}: mask without image (no image with stem {key!r}); add the image or remove the mask"
            )
        mask_for[key] = m
    fovs = fovs or {}
    return [Sample(k, by_stem[k], mask_for.get(k), fovs.get(k), split) for k in sorted(by_stem)]


def _idrid(raw: Path, lesion: str) -> list[Sample]:
    root = _idrid_root(raw)
    samples = []
    suffix = re.compile(rf"^(.*)_{lesion}$", re.IGNORECASE)
    for folder, split in IDRID_SPLITS.items():
        img_dir = root / "1. Original Images" / folder
        if not img_dir.is_dir():
            continue
        mask_dir = root / "2. All Segmentation Groundtruths" / folder / LESIONS[lesion]
        masks = list_images(mask_dir) if mask_dir.is_dir() else []
        if not mask_dir.is_dir():
            warn(f"{mask_dir}: not found; every {split} image is taken as free of {lesion}")

        def key(m: Path) -> str | None:
            match = suffix.match(m.stem)
            return match.group(1) if match else None

        samples += pair(list_images(img_dir), masks, key, split)
    return samples


def _drive(raw: Path) -> list[Sample]:
    samples = []
    number = re.compile(r"^(\d+)_")
    for folder, split in _drive_dirs(raw):

        def key(p: Path) -> str | None:
            match = number.match(p.stem)
            return match.group(1) if match else None

        fov_dir = folder / "mask"
        fovs = {key(p): p for p in list_images(fov_dir)} if fov_dir.is_dir() else {}
        samples += pair(list_images(folder / "images"), list_images(folder / "1st_manual"), key, split, fovs, key)
    return samples


def _plain(raw: Path) -> list[Sample]:
    fov_dir = raw / "fov"
    fovs = {p.stem: p for p in list_images(fov_dir)} if fov_dir.is_dir() else {}
    return pair(list_images(raw / "images"), list_images(raw / "masks"), lambda p: p.stem, "", fovs)


def load_samples(raw: Path, lesion: str = "EX") -> tuple[str, list[Sample]]:
    """(layout name, samples), with every check that does not need pixels done."""
    lesion = lesion.upper()
    if lesion not in LESIONS:
        raise PipelineError(f"unknown lesion code {lesion!r}; use one of {', '.join(LESIONS)}")
    layout = detect_layout(raw)
    readers = {"idrid": lambda: _idrid(raw, lesion), "drive": lambda: _drive(raw), "plain": lambda: _plain(raw)}
    samples = readers[layout]()
    if not samples:
        raise PipelineError(f"{raw}: no images found in the {layout} layout; is the download complete?")
    missing = [s.stem for s in samples if s.mask is None]
    if missing:
        what = lesion if layout == "idrid" else "lesion"
        warn(f"{len(missing)} image(s) have no {what} mask and are taken as lesion-free: {', '.join(missing[:5])}"
             + (" ..." if len(missing) > 5 else ""))
    return layout, samples
