"""Training crops drawn fresh every epoch from whole training images decoded once and held in memory.

The paper's fixed grid shows the network the same few thousand patches again and again; here every
epoch draws new windows: a share `lesion_share` centred (with jitter) on a lesion pixel, the rest
centred on a point drawn uniformly inside the field of view. The lesion pixel is drawn uniformly
over all lesion pixels of the training set (`pixel`), or first a lesion (an 8-connected component)
uniformly, then a pixel of it (`lesion`): with `pixel` a few very large lesions take most of the
draws (three of IDRiD's 34 training images hold half of the haemorrhage pixels), with `lesion` the
many small ones are seen as often as the large. With several lesion kinds, `lesion` first draws a
kind, each equally often, then one of its lesions: over the union, IDRiD's thousands of
microaneurysms and exudates would leave the 86 soft exudates of the training images almost never
seen. The draw of epoch e is a pure function of (seed, e), and augmentation is seeded per element
as in the patch pipeline, so a killed and resumed run sees the same batches.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
from scipy import ndimage

from . import photometric
from .draws import Augment
from .errors import PipelineError
from .fov import fov_from_image
from .imageio import read_csv, read_rgb, resolve
from .lesions import EIGHT
from .multi import mask_column, unpack
from .parallel import pmap
from .patches import training_mask
from .prep import Prep, prepare_image

CENTRES = ("pixel", "lesion", "sqrt-area")
JITTER = 0.25  # lesion crops: the lesion pixel lands within +-JITTER * size of the crop centre


@dataclass
class ImageBank:
    """Prepared training images, their masks, and what the sampler draws from."""

    images: list[np.ndarray]  # HxWx3 uint8 at the working scale
    masks: list[np.ndarray]  # HxW uint8 bit-packed (bit k = lesion k; 0/1 for one lesion)
    fovs: list[np.ndarray]  # HxW bool
    lesion_pixels: np.ndarray  # (n, 3) int32: image, y, x of every pixel of any lesion
    channels: int = 1  # lesions, one network output each
    by_lesion: np.ndarray | None = None  # indices into lesion_pixels grouped by connected component
    lesion_starts: np.ndarray | None = None  # (components + 1,) offsets of each group in by_lesion
    kind_starts: np.ndarray | None = None  # (channels + 1,) the components of kind k: kind_starts[k:k + 2]
    versions: list[list[np.ndarray]] | None = None  # per image, its photometric versions, prepared (photometric.py)

    @property
    def fov_area(self) -> np.ndarray:
        return np.array([f.sum() for f in self.fovs], np.float64)


def _load_one(row: tuple[Path, Path, tuple[Path, ...]], prep: Prep,
              versions: photometric.Versions) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[np.ndarray]]:
    rgb = read_rgb(row[0])
    factor = prep.factor(rgb, str(row[0]))  # the clean photograph's: every version keeps its geometry and mask
    image = prepare_image(rgb, prep, factor)
    extra = [prepare_image(photometric.version(rgb, versions, row[0].stem, v), prep, factor)
             for v in range(1, versions.count + 1)]
    return image, training_mask(row[0], row[1], row[2], prep, factor), fov_from_image(image), extra


def load_bank(train_csv: Path, data: Path, prep: Prep, workers: int = 1,
              versions: photometric.Versions = photometric.Versions()) -> ImageBank:
    """The whole images behind the training patches (the `source` column), prepared once; with
    `versions`, that many photometric versions of each beside it (lesionseg.photometric)."""
    sources = sorted(set(read_csv(train_csv, ["source"], "run traintest_split.py first").source))
    columns = [mask_column(c) for c in prep.lesions]
    manifest = read_csv(data / "manifest.csv", ["stem", "image", "mask", *columns],
                        "run gt_binary.py first").set_index("stem")
    unknown = [s for s in sources if s not in manifest.index]
    if unknown:
        raise PipelineError(f"{train_csv}: source {unknown[0]!r} is not in {data / 'manifest.csv'}; "
                            "run extract_patches.py and traintest_split.py again")
    rows = [(resolve(manifest.at[s, "image"], data), resolve(manifest.at[s, "mask"], data),
             tuple(resolve(manifest.at[s, c], data) for c in columns)) for s in sources]
    loaded = pmap(partial(_load_one, prep=prep, versions=versions), rows, workers, "load images")
    images, masks, fovs, extra = (list(x) for x in zip(*loaded, strict=True))
    lesion = [np.column_stack([np.full(len(ys), i), ys, xs]) for i, m in enumerate(masks)
              for ys, xs in [np.nonzero(m)]]
    by_lesion, starts, kinds = group_by_lesion(masks, prep.channels)
    return ImageBank(images, masks, fovs, np.concatenate(lesion).astype(np.int32), prep.channels, by_lesion, starts,
                     kinds, extra if versions.count else None)


def group_by_lesion(masks: list[np.ndarray], channels: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For the pixels of any lesion listed image by image in row-major order (np.nonzero of each
    mask): their indices grouped by lesion (8-connected component of one kind's mask, kind by
    kind), where each group starts (one more entry than there are lesions), and where each kind's
    groups start (channels + 1 entries). A pixel of two overlapping kinds is in a group of each."""
    lit = [np.flatnonzero(m) for m in masks]  # each image's lesion pixels, row-major: np.nonzero's order
    bases = np.cumsum([0, *(len(x) for x in lit[:-1])])  # where each image's pixels start in the full list
    ids, members, offset = [], [], 0
    kinds = [0]
    for k in range(channels):
        for m, pixels, base in zip(masks, lit, bases, strict=True):
            labels, n = ndimage.label((m >> k) & 1, EIGHT)
            flat = labels.ravel()
            inside = np.flatnonzero(flat)
            ids.append(flat[inside].astype(np.int64) - 1 + offset)
            members.append(np.searchsorted(pixels, inside) + base)
            offset += n
        kinds.append(offset)
    ids_all = np.concatenate(ids) if ids else np.zeros(0, np.int64)
    order = np.concatenate(members)[np.argsort(ids_all, kind="stable")] if ids else np.zeros(0, np.int64)
    starts = np.concatenate([[0], np.cumsum(np.bincount(ids_all, minlength=offset))])
    return order.astype(np.int64), starts, np.asarray(kinds, np.int64)


def crop_plan(bank: ImageBank, size: int, count: int, seed: int, epoch: int, lesion_share: float,
              centre: str = "pixel") -> np.ndarray:
    """(count, 3) int64 rows (image, y0, x0) of the crops of one epoch: a function of (seed, epoch).
    centre: lesion crops centred on a pixel drawn over all lesion pixels (`pixel`), or over one
    lesion drawn uniformly (`lesion`) or in proportion to the square root of its area (`sqrt-area`:
    between the two, so large lesions are seen whole more often without drowning the small ones);
    with several kinds, a kind is drawn uniformly first."""
    if centre not in CENTRES:
        raise ValueError(f"unknown lesion crop centre {centre!r}; use one of {', '.join(CENTRES)}")
    rng = np.random.default_rng([seed, epoch, 2718])
    area = bank.fov_area
    has_fov = area.sum() > 0  # an image with an empty field of view has weight 0 and is never drawn
    weights = area / area.sum() if has_fov else np.full(len(area), 1 / len(area))
    out = np.zeros((count, 3), np.int64)
    lesion = rng.random(count) < lesion_share
    if len(bank.lesion_pixels) == 0:
        lesion[:] = False
    lesion_p = _root_area_weights(bank) if centre == "sqrt-area" and lesion.any() else None
    for k in range(count):
        if lesion[k]:
            if centre != "pixel":
                c = _draw_lesion(bank, rng, lesion_p)
                a, b = bank.lesion_starts[c], bank.lesion_starts[c + 1]
                i, y, x = bank.lesion_pixels[bank.by_lesion[a + rng.integers(b - a)]]
            else:
                i, y, x = bank.lesion_pixels[rng.integers(len(bank.lesion_pixels))]
            y, x = (int(v + rng.uniform(-JITTER, JITTER) * size) for v in (y, x))
        else:
            i = int(rng.choice(len(weights), p=weights))
            fov = bank.fovs[i]
            h, w = fov.shape
            for _ in range(100):  # rejection sampling: uniform inside the field of view
                y, x = int(rng.integers(h)), int(rng.integers(w))
                if fov[y, x] or not has_fov:
                    break
        h, w = bank.masks[i].shape
        out[k] = i, np.clip(y - size // 2, 0, max(0, h - size)), np.clip(x - size // 2, 0, max(0, w - size))
    return out


def describe_draw(bank: ImageBank, lesions: tuple[str, ...] | list[str], centre: str) -> str:
    """What a run's lesion crops are centred on and how it is drawn, in words for its log (one owner of that
    sentence)."""
    what = "any of the lesions" if lesions else "lesions"
    weighed = " in proportion to the square root of its area" if centre == "sqrt-area" else ""
    if centre == "pixel":
        how = "a pixel drawn over all lesion pixels"
    elif lesions:
        counts = ", ".join(f"{c} {n}" for c, n in zip(lesions, np.diff(bank.kind_starts), strict=True))
        how = f"each lesion kind equally often, then each of its lesions{weighed} ({counts})"
    else:
        how = f"each of {len(bank.lesion_starts) - 1} lesions{weighed or ' equally often'}"
    return f"{what}: {how}"


def _root_area_weights(bank: ImageBank) -> list[np.ndarray]:
    """Per lesion kind, the draw probabilities of its lesions: the square root of each one's area."""
    root = np.sqrt(np.diff(bank.lesion_starts).astype(np.float64))
    kinds = bank.kind_starts if bank.channels > 1 else np.array([0, len(root)])
    return [root[a:b] / root[a:b].sum() if b > a else root[a:b] for a, b in zip(kinds[:-1], kinds[1:], strict=True)]


def _draw_lesion(bank: ImageBank, rng: np.random.Generator, p: list[np.ndarray] | None = None) -> int:
    """A lesion uniformly (or with the probabilities p, one array per kind); with several kinds, a
    kind that has lesions uniformly first, then one of its."""
    if bank.channels == 1:  # no kind draw: one lesion's runs keep the draws they always had
        n = len(bank.lesion_starts) - 1
        return int(rng.choice(n, p=p[0])) if p is not None else int(rng.integers(n))
    present = [k for k in range(bank.channels) if bank.kind_starts[k + 1] > bank.kind_starts[k]]
    k = present[rng.integers(len(present))]
    n = bank.kind_starts[k + 1] - bank.kind_starts[k]
    return int(bank.kind_starts[k] + (rng.choice(n, p=p[k]) if p is not None else rng.integers(n)))


def _cut(arr: np.ndarray, y: int, x: int, size: int) -> np.ndarray:
    part = arr[y : y + size, x : x + size]
    if part.shape[:2] == (size, size):
        return part
    pad = ((0, size - part.shape[0]), (0, size - part.shape[1])) + ((0, 0),) * (arr.ndim - 2)
    return np.pad(part, pad)


def crop_table(bank: ImageBank, size: int, seed: int, start_epoch: int, epochs: int, per_epoch: int,
               lesion_share: float, centre: str = "pixel") -> np.ndarray:
    """(epoch, position, image, y0, x0) int64 rows: every crop of epochs start_epoch..epochs-1; with
    photometric versions in the bank, a sixth column: the version each crop is cut from (0: the
    photograph itself, each equally often), drawn from a stream of its own so no other draw moves."""
    plans = [crop_plan(bank, size, per_epoch, seed, e, lesion_share, centre) for e in range(start_epoch, epochs)]
    epoch_col = np.repeat(np.arange(start_epoch, epochs), per_epoch)
    pos_col = np.tile(np.arange(per_epoch), epochs - start_epoch)
    columns = [epoch_col, pos_col, np.concatenate(plans)]
    if bank.versions:
        count = len(bank.versions[0]) + 1
        columns.append(np.concatenate([np.random.default_rng([seed, e, 1414]).integers(0, count, per_epoch)
                                       for e in range(start_epoch, epochs)]))
    return np.column_stack(columns).astype(np.int64)


def cut_crop(bank: ImageBank, row: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The float32 image and uint8 0/1 HxWxK mask of one crop-table row."""
    i, y, x = (int(v) for v in row[2:5])
    version = int(row[5]) if len(row) > 5 else 0
    image = bank.images[i] if version == 0 else bank.versions[i][version - 1]
    return _cut(image, y, x, size).astype(np.float32), unpack(_cut(bank.masks[i], y, x, size), bank.channels)


def crop_dataset(bank: ImageBank, size: int, batch: int, seed: int, start_epoch: int, epochs: int,
                 per_epoch: int, lesion_share: float, cfg: Augment | None, centre: str = "pixel"):
    """A tf.data.Dataset of fresh crops for epochs start_epoch..epochs-1; `per_epoch` must be a multiple of
    batch (lesionseg.arrays.crop_batches gives the same batches without TensorFlow)."""
    table = crop_table(bank, size, seed, start_epoch, epochs, per_epoch, lesion_share, centre)

    import tensorflow as tf

    from .pipeline import AUTOTUNE, augment

    channels = bank.channels

    def load(row):
        image, mask = tf.numpy_function(lambda r: cut_crop(bank, r, size), [row], [tf.float32, tf.uint8],
                                        stateful=False)
        image = tf.ensure_shape(image, (size, size, 3))
        mask = tf.cast(tf.ensure_shape(mask, (size, size, channels)), tf.float32)
        if cfg is not None:
            element_seed = tf.stack([tf.constant(seed, tf.int64), row[0] * per_epoch + row[1]])
            image, mask = augment(image, mask, element_seed, cfg)
        return image, mask

    ds = tf.data.Dataset.from_tensor_slices(table)
    ds = ds.map(load, num_parallel_calls=AUTOTUNE, deterministic=True)
    return ds.batch(batch).prefetch(AUTOTUNE)
