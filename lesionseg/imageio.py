"""Reading and writing images and tables safely: clear errors, and no half-written files."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, ImageFile

from .errors import PipelineError, warn

ImageFile.LOAD_TRUNCATED_IMAGES = False  # a truncated download must fail loudly, not load grey
Image.MAX_IMAGE_PIXELS = None  # fundus photographs are large but trusted

# stems such as DRIVE's "21" must stay text
TEXT_COLUMNS = {c: str for c in ("stem", "source", "image", "mask", "fov", "split", "patch_image", "patch_mask")}
IMAGE_EXTS = {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".gif", ".bmp", ".ppm"}


def open_image(path: Path) -> Image.Image:
    """Open and fully decode, so truncation is found here and named, not deep inside a stage."""
    try:
        im = Image.open(path)
        im.load()
    except FileNotFoundError:
        raise PipelineError(f"{path}: file not found") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise PipelineError(
            f"{path}: cannot read this image ({exc}); it is unreadable or truncated: "
            "download it again or remove it"
        ) from None
    return im


def read_rgb(path: Path) -> np.ndarray:
    """HxWx3 uint8."""
    im = open_image(path)
    if im.mode != "RGB":
        im = im.convert("RGB")
    return np.asarray(im)


def read_gray(path: Path) -> np.ndarray:
    """HxW uint8, palette and RGBA masks included (grayscale of the colours, as the paper)."""
    im = open_image(path)
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        im = im.convert("RGBA").convert("RGB")  # drop alpha: IDRiD_81_EX keeps the lesion in red
    if im.mode != "L":
        im = im.convert("L")
    return np.asarray(im)


def read_binary_mask(path: Path) -> np.ndarray:
    """A derived 0/255 mask as bool; anything else means the workspace was not made by gt_binary."""
    arr = read_gray(path)
    values = np.unique(arr)
    if not set(values.tolist()) <= {0, 255}:
        raise PipelineError(
            f"{path}: mask is not binary (values {values[:6].tolist()}...); "
            "binarize it first with gt_binary.py"
        )
    return arr == 255


def image_size(path: Path) -> tuple[int, int]:
    """(width, height) from the header only."""
    try:
        with Image.open(path) as im:
            return im.size
    except (OSError, SyntaxError, ValueError) as exc:
        raise PipelineError(f"{path}: cannot read this image ({exc}): download it again or remove it") from None


def tmp_name(path: Path) -> Path:
    return path.with_name(f"{path.name}.tmp-{os.getpid()}")


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary sibling to write; rename onto `path` only when the block succeeds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = tmp_name(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp.exists():
            tmp.unlink()


def save_png(arr: np.ndarray, path: Path, rle: bool = False) -> None:
    """HxW or HxWx3 uint8 (RGB) as PNG, encoded by OpenCV's libpng at its fast default (about twice as
    fast as Pillow's). `rle`: run-length deflate, faster again on maps that are mostly 0
    (probabilities, masks), for a few percent more bytes."""
    import cv2

    params = [cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_RLE] if rle else []
    pixels = cv2.cvtColor(arr, cv2.COLOR_RGB2BGR) if arr.ndim == 3 else arr
    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(pixels), params)
    if not ok:
        raise PipelineError(f"{path}: could not encode this image as PNG")
    with atomic_path(path) as tmp:
        tmp.write_bytes(encoded.tobytes())


def save_probability(prob: np.ndarray, path: Path) -> None:
    """An HxW probability map in [0, 1] as an 8-bit PNG (round(p * 255), the IDRiD submission format):
    the one writer of evaluate.py's probabilities/ and infer.py's <stem>_prob.png."""
    save_png(np.round(prob * 255).astype(np.uint8), path, rle=True)


def write_csv(df: pd.DataFrame, path: Path) -> None:
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)


def read_csv(path: Path, columns: list[str], what: str) -> pd.DataFrame:
    """A table the previous stage wrote, with the columns we need, or a message naming that stage."""
    if not path.is_file():
        raise PipelineError(f"{path}: not found; {what}")
    try:
        df = pd.read_csv(path, keep_default_na=False, dtype=TEXT_COLUMNS)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise PipelineError(f"{path}: empty or unreadable CSV ({exc}); {what}") from None
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise PipelineError(f"{path}: missing columns {missing}; {what}")
    if df.empty:
        raise PipelineError(f"{path}: has no rows; {what}")
    return df


def has_rows(path: Path) -> bool:
    """An optional table (val.csv with no validation images is only a header) that holds rows."""
    if not path.is_file():
        return False
    with open(path) as fh:
        return sum(1 for line in fh if line.strip()) > 1


def list_images(folder: Path) -> list[Path]:
    """Sorted image files of a folder; stray files (.DS_Store, Thumbs.db, notes) are skipped with a warning."""
    if not folder.is_dir():
        raise PipelineError(f"{folder}: folder not found")
    files = []
    for p in sorted(folder.iterdir()):
        if p.is_dir():
            continue
        if p.name.startswith(".") or p.suffix.lower() not in IMAGE_EXTS:
            warn(f"skipping {p}: not an image file")
            continue
        files.append(p)
    return files


def relative_to(path: Path, base: Path) -> str:
    """Paths inside the workspace are stored relative to it, so the workspace can move."""
    path, base = Path(os.path.abspath(path)), Path(os.path.abspath(base))
    try:
        return path.relative_to(base).as_posix()
    except ValueError:
        return path.as_posix()


def resolve(text: str, base: Path) -> Path:
    p = Path(text)
    return p if p.is_absolute() else base / p


@contextlib.contextmanager
def atomic_dir(path: Path) -> Iterator[Path]:
    """Build a whole output folder aside and swap it in at the end: a rerun never mixes in stale
    files and a killed run leaves the previous complete folder (or none) for the next stage."""
    tmp = tmp_name(path)
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    try:
        yield tmp
        old = path.with_name(f"{path.name}.old-{os.getpid()}")
        if path.exists():
            os.replace(path, old)
        os.replace(tmp, path)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def remove_stale_tmp(folder: Path) -> None:
    """Leftovers of killed runs (`*.tmp-PID`, `*.old-PID`) are never read; clear them."""
    if folder.is_dir():
        for p in folder.iterdir():
            if ".tmp-" in p.name or ".old-" in p.name:
                shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
