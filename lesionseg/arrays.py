"""The training input without TensorFlow, for Keras on JAX or PyTorch (train.py --input numpy): the
patches decoded once and held in memory, and batches built in NumPy by threads that run ahead of the
network. The same seed gives the same batches as the tf.data input (lesionseg.pipeline): the same
patch order (epoch_orders), the same draws (lesionseg.draws), the flips exactly, and the colour
changes within PHOTOMETRIC_TOLERANCE, since NumPy's hue rotation rounds differently from
TensorFlow's (tests/test_arrays.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import keras
import numpy as np

from . import draws
from .draws import Augment
from .errors import PipelineError
from .imageio import read_csv, read_gray, read_rgb, resolve
from .multi import unpack

PHOTOMETRIC_TOLERANCE = 0.05  # on 0..255 pixels: largest difference from the tf.data input's
AHEAD = 4  # batches prepared before the network asks for them


def load_patch_table(csv: Path, data: Path) -> tuple[list[str], list[str]]:
    df = read_csv(csv, ["patch_image", "patch_mask"], "run traintest_split.py first")
    images = [str(resolve(p, data)) for p in df.patch_image]
    masks = [str(resolve(p, data)) for p in df.patch_mask]
    missing = [p for p in images + masks if not Path(p).is_file()]
    if missing:
        raise PipelineError(f"{missing[0]}: patch file listed in {csv} is missing ({len(missing)} in all); "
                            "run extract_patches.py and traintest_split.py again")
    return images, masks


def evenly_spaced(items: list[str], n: int) -> list[str]:
    """train.py's VAL_PATCHES: all (0), none (-1), or n evenly spaced items (a fixed, seed-free choice)."""
    if n == 0 or not items:
        return items
    if n < 0:
        return []
    return [items[i] for i in sorted(set(np.linspace(0, len(items) - 1, min(n, len(items))).astype(int)))]


def epoch_orders(n: int, seed: int, start: int, stop: int, shuffle: bool, length: int | None = None) -> np.ndarray:
    """Row e - start: the patch order of epoch e (`length` draws, n by default), a function of (seed, e)."""
    length = length or n
    rows = []
    for e in range(start, stop):
        rng = np.random.default_rng([seed, e])
        reps = -(-length // n)
        rows.append(np.concatenate([rng.permutation(n) if shuffle else np.arange(n) for _ in range(reps)])[:length])
    return np.array(rows, np.int64).reshape(-1, length)


def decode_patches(images: list[str], masks: list[str], channels: int = 1, workers: int = 8
                   ) -> tuple[np.ndarray, np.ndarray]:
    """(N x H x W x 3 uint8 patches, N x H x W x K uint8 0/1 masks) from the patch files, decoded once."""
    def one(k: int) -> tuple[np.ndarray, np.ndarray]:
        return read_rgb(Path(images[k])), unpack(read_gray(Path(masks[k])), channels)

    with ThreadPoolExecutor(workers) as pool:
        pairs = list(pool.map(one, range(len(images))))
    return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])


def adjust_hue(x: np.ndarray, delta: float) -> np.ndarray:
    """HxWx3 RGB in [0, 1] with its hue turned by `delta` of a full turn (tf.image.adjust_hue's rule)."""
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    v, low = x.max(axis=-1), x.min(axis=-1)
    span = v - low
    s = np.where(v > 0, span / np.where(v > 0, v, 1), 0)
    safe = np.where(span > 0, span, 1)
    h = np.where(v == r, (g - b) / safe, np.where(v == g, (b - r) / safe + 2, (r - g) / safe + 4)) / 6
    h = np.where(span > 0, h, 0)
    h6 = np.mod(h + delta, 1.0) * 6
    sector = np.floor(h6).astype(np.int64) % 6
    f = h6 - np.floor(h6)
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    choices = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)]
    out = np.empty_like(x)
    for k, channels in enumerate(choices):
        at = sector == k
        for c in range(3):
            out[..., c][at] = channels[c][at]
    return out


def augment(image: np.ndarray, mask: np.ndarray, seed: tuple[int, int], cfg: Augment) -> tuple[np.ndarray, np.ndarray]:
    """lesionseg.pipeline.augment in NumPy: float32 0..255 image and its mask, with the same draws."""
    u = draws.uniforms_np(seed)
    if cfg.rotations and u[draws.SWAP] < 0.5:
        image, mask = image.transpose(1, 0, 2), mask.transpose(1, 0, 2)
    if cfg.flips:
        if u[draws.LR] < 0.5:
            image, mask = image[:, ::-1], mask[:, ::-1]
        if u[draws.UD] < 0.5:
            image, mask = image[::-1], mask[::-1]
    x = image.astype(np.float32) / np.float32(255)
    if cfg.brightness > 0:
        x = np.clip(x + np.float32((2 * u[draws.BRIGHTNESS] - 1) * cfg.brightness), 0, 1)
    if cfg.hue > 0:
        x = np.clip(adjust_hue(x, float((2 * u[draws.HUE] - 1) * cfg.hue)), 0, 1)
    if cfg.contrast > 0:
        mean = x.mean(axis=(0, 1), keepdims=True)
        x = np.clip((x - mean) * np.float32(1 + (2 * u[draws.CONTRAST] - 1) * cfg.contrast) + mean, 0, 1)
    return (x * np.float32(255)).astype(np.float32), np.ascontiguousarray(mask)


def _batches(elements: list[list[tuple]], make: Callable[[tuple], tuple[np.ndarray, np.ndarray]],
             workers: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Each batch's elements made by `workers` threads, AHEAD batches early, yielded in order."""
    with ThreadPoolExecutor(workers) as pool:
        pending = []
        for batch in elements:
            pending.append([pool.submit(make, e) for e in batch])
            if len(pending) > AHEAD:
                yield _stack(pending.pop(0))
        for futures in pending:
            yield _stack(futures)


def _stack(futures) -> tuple[np.ndarray, np.ndarray]:
    pairs = [f.result() for f in futures]
    return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs]).astype(np.float32)


def training_batches(images: np.ndarray, masks: np.ndarray, batch: int, seed: int, start_epoch: int, epochs: int,
                     cfg: Augment | None, shuffle: bool = True, per_epoch: int | None = None,
                     drop_remainder: bool = False, workers: int = 8) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """lesionseg.pipeline.training_dataset's batches, from patches in memory (decode_patches)."""
    orders = epoch_orders(len(images), seed, start_epoch, epochs, shuffle, per_epoch)
    length = orders.shape[1]
    plan = []
    for row, order in enumerate(orders):
        epoch = start_epoch + row
        elems = [(epoch * length + pos, int(idx)) for pos, idx in enumerate(order)]
        cut = len(elems) - len(elems) % batch if drop_remainder else len(elems)
        plan += [elems[a : min(a + batch, cut)] for a in range(0, cut, batch)]

    def make(element: tuple) -> tuple[np.ndarray, np.ndarray]:
        at, idx = element
        if cfg is None:
            return images[idx].astype(np.float32), masks[idx]
        return augment(images[idx], masks[idx], (seed, at), cfg)

    return _batches(plan, make, workers)


def crop_batches(bank, size: int, batch: int, seed: int, table: np.ndarray, per_epoch: int, cfg: Augment | None,
                 workers: int = 8) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """lesionseg.crops.crop_dataset's batches: `table` is its (epoch, position, image, y, x) plan."""
    from .crops import cut_crop

    def make(row: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        image, mask = cut_crop(bank, row, size)
        if cfg is None:
            return image, mask
        return augment(image, mask, (seed, int(row[0]) * per_epoch + int(row[1])), cfg)

    return _batches([list(table[a : a + batch]) for a in range(0, len(table), batch)], make, workers)


class EvalBatches(keras.utils.PyDataset):
    """Validation batches in order, indexable, so every epoch sees them all."""

    def __init__(self, images: np.ndarray, masks: np.ndarray, batch: int, drop_remainder: bool = False):
        super().__init__()
        self.images, self.masks, self.batch, self.drop = images, masks, batch, drop_remainder

    def __len__(self) -> int:
        return len(self.images) // self.batch if self.drop else -(-len(self.images) // self.batch)

    def __getitem__(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        part = slice(k * self.batch, (k + 1) * self.batch)
        return self.images[part].astype(np.float32), self.masks[part].astype(np.float32)
