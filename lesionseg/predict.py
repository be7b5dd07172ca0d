"""Full-image probabilities from a patch-trained U-Net.

faithful: the training grid (512 / 256, edges snapped), patches predicted in batches and averaged
  where they overlap (optionally with nnU-Net's Gaussian weights).
fast: the network is fully convolutional, so it runs on large tiles (the whole image when it fits
  under `tile`), each with a `margin` of context on every side that is cropped off again; inputs
  are zero-padded to a multiple of 2**(depth-1). About 3.4x fewer pixels than the 512/256 grid.

Either path runs on an image already at the model's working scale; `lesionseg.predictor.Predictor`
prepares a photograph and resamples the probabilities back to its size. With `tta` the four flips
of the image are predicted and their probabilities averaged (with `tta_transpose` also the four of its
transpose: all eight rotations and mirrors); with `tta_scales` the image is also resampled
by each factor (1.25: lesions a quarter larger than the network learnt them), predicted, and the
probabilities resampled back and averaged with the rest; with `largest_component` only one
region of each map is kept, and with `convex_hull` that region is given a convex shape, with
`fill_holes` only its holes filled (lesionseg.components). Every path returns HxWxK maps: one channel
per model output (lesion).
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .components import hole_levels, hull_levels, keep_largest
from .engines import Network, as_network, logits_each, sigmoid
from .errors import PipelineError
from .prep import resample_image, to_original
from .tiling import Stitcher, crop, gaussian_weights, grid, pad_to

MODES = ("fast", "faithful")
FLIPS = ((False, False), (True, False), (False, True), (True, True))  # (left-right, up-down)


@dataclass(frozen=True)
class Inference:
    """How whole images are predicted; evaluate.py stores it with the threshold it chose."""

    mode: str = "fast"  # fast | faithful
    precision: str = "float32"  # float32 | bfloat16 (CPU) | float16 (GPU)
    patch_size: int = 512  # faithful: the grid, in working-scale pixels
    stride: int = 256
    batch_size: int = 8
    gaussian: bool = False  # faithful: nnU-Net Gaussian weights
    tile: int = 4352  # fast: largest tile side
    margin: int = 128  # fast: context cropped off each tile
    tta: bool = False  # average the four flips
    tta_scales: tuple[float, ...] = (1.0,)  # the working-scale input resampled by each, predicted, averaged back
    largest_component: bool = False  # keep one region per output (the optic disc): lesionseg.components
    convex_hull: bool = False  # and fill each level set of that region to its convex hull (implies the above)
    tta_transpose: bool = False  # the flips of the transposed image too: the eight rotations and mirrors
    fill_holes: bool = False  # fill the holes of each level set of the one region kept (implies largest_component)

    def __post_init__(self):
        scales = tuple(float(s) for s in self.tta_scales)  # a stored bundle gives a list
        if not scales or min(scales) <= 0 or len(set(scales)) < len(scales):
            raise ValueError(f"tta_scales must be distinct positive factors, not {self.tta_scales!r}")
        object.__setattr__(self, "tta_scales", scales)

    @property
    def one_region(self) -> bool:
        """Whether one region per output is kept: asked for, or implied by a filling of that region."""
        return self.largest_component or self.convex_hull or self.fill_holes

    @property
    def passes(self) -> float:
        """Network passes per photograph, in working-scale images' worth of pixels."""
        return (4 if self.tta else 1) * (2 if self.tta_transpose else 1) * sum(s * s for s in self.tta_scales)


def parse_scales(text: str) -> tuple[float, ...]:
    """'1,1.25' -> (1.0, 1.25): the argparse type of --tta-scales."""
    try:
        return Inference(tta_scales=tuple(float(part) for part in str(text).split(","))).tta_scales
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give distinct positive factors separated by commas, "
                                         "e.g. 1,1.25") from None


def _probabilities(net: Network, batches: list[np.ndarray]) -> list[np.ndarray]:
    """Each batch's probabilities, checked, for every prediction path: an engine that answers in
    another layout (an extra leading axis, another batch size) would otherwise fail later as a shape
    error in the stitching."""
    probs = []
    for batch, logits in zip(batches, logits_each(net, batches), strict=True):
        if logits.shape != (*batch.shape[:3], net.outputs):
            raise PipelineError(f"{type(net).__name__}: logits of shape {logits.shape} for a batch of {batch.shape} "
                                f"({net.outputs} output(s) expected); export the model again "
                                "(python -m lesionseg.export) or use --engine tensorflow")
        probs.append(sigmoid(logits))
    return probs


def predict_faithful(model: Network | Any, image: np.ndarray, patch: int = 512, stride: int = 256, batch: int = 8,
                     gaussian: bool = False) -> np.ndarray:
    """`model`: a Network (lesionseg.engines) or a Keras model."""
    net = as_network(model)
    h, w = image.shape[:2]
    stitch = Stitcher(h, w, patch, gaussian_weights(patch) if gaussian else None, net.outputs)
    cells = grid(h, w, patch, stride)
    for start in range(0, len(cells), batch):
        chunk = cells[start : start + batch]
        tiles = np.stack([crop(image, y, x, patch) for _, _, y, x in chunk]).astype(np.float32)
        probs = _probabilities(net, [tiles])[0]
        for (_, _, y, x), p in zip(chunk, probs, strict=True):
            stitch.add(y, x, p)
    return stitch.result()


def tile_spans(length: int, tile: int) -> list[tuple[int, int]]:
    """Split [0, length) into equal cores of at most `tile` pixels."""
    n = max(1, math.ceil(length / tile))
    step = math.ceil(length / n)
    return [(a, min(a + step, length)) for a in range(0, length, step)]


def fast_tiles(h: int, w: int, multiple: int, tile: int = 4352, margin: int = 128) -> list[tuple]:
    """(core box, input box, padded input shape) per tile; margins only where there is image."""
    out = []
    for y0, y1 in tile_spans(h, tile):
        for x0, x1 in tile_spans(w, tile):
            box = (max(0, y0 - margin), max(0, x0 - margin), min(h, y1 + margin), min(w, x1 + margin))
            shape = tuple(math.ceil((box[2 + i] - box[i]) / multiple) * multiple for i in (0, 1))
            out.append(((y0, x0, y1, x1), box, shape))
    return out


def predict_fast(model: Network | Any, image: np.ndarray, multiple: int, tile: int = 4352, margin: int = 128
                 ) -> np.ndarray:
    """`model`: a Network (lesionseg.engines) or a Keras model."""
    return predict_fast_views(model, [image], multiple, tile, margin)[0]


def predict_fast_views(model: Network | Any, images: list[np.ndarray], multiple: int, tile: int = 4352,
                       margin: int = 128) -> list[np.ndarray]:
    """predict_fast for views of one shape (the flips): each tile of every view goes to the network
    together, so an engine that runs them side by side keeps every core busy."""
    net = as_network(model)
    h, w = images[0].shape[:2]
    outs = [np.zeros((h, w, net.outputs), np.float32) for _ in images]
    for (y0, x0, y1, x1), (ty0, tx0, ty1, tx1), shape in fast_tiles(h, w, multiple, tile, margin):
        regions = [pad_to(im[ty0:ty1, tx0:tx1], *shape)[None].astype(np.float32) for im in images]
        for out, prob in zip(outs, _probabilities(net, regions), strict=True):
            out[y0:y1, x0:x1] = prob[0][y0 - ty0 : y1 - ty0, x0 - tx0 : x1 - tx0]
    return outs


def predict_prepared(model: Network | Any, image: np.ndarray, inf: Inference) -> np.ndarray:
    """Probabilities for an image already at the working scale (flips averaged with tta, and each
    of `tta_scales`)."""
    net = as_network(model)
    if inf.mode not in MODES:
        raise ValueError(f"unknown inference mode {inf.mode!r}")
    height, width = image.shape[:2]
    total = None
    for scale in inf.tta_scales:
        view = image if scale == 1 else resample_image(image, scale)
        prob = to_original(_views_mean(net, view, inf), height, width)
        total = prob if total is None else total + prob
    prob = (total / len(inf.tta_scales)).astype(np.float32)
    if not inf.one_region:
        return prob
    kept = keep_largest(prob)
    return hull_levels(kept) if inf.convex_hull else hole_levels(kept) if inf.fill_holes else kept


def _views_mean(net: Network, image: np.ndarray, inf: Inference) -> np.ndarray:
    """The flips' mean, and with tta_transpose the same of the transposed image, transposed back: a
    transpose is a view of another shape (a separate pass), and its own inverse."""
    prob = _flips_mean(net, image, inf)
    if not inf.tta_transpose:
        return prob
    across = _flips_mean(net, np.ascontiguousarray(image.transpose(1, 0, 2)), inf).transpose(1, 0, 2)
    return (prob + across) / 2


def _flips_mean(net: Network, image: np.ndarray, inf: Inference) -> np.ndarray:
    """The mean of the flips' probabilities (the image alone without tta)."""
    flips = FLIPS if inf.tta else FLIPS[:1]
    views = [np.ascontiguousarray(_flip(image, lr, ud)) for lr, ud in flips]
    if inf.mode == "faithful":
        probs = [predict_faithful(net, v, inf.patch_size, inf.stride, inf.batch_size, inf.gaussian) for v in views]
    else:
        probs = predict_fast_views(net, views, net.multiple, inf.tile, inf.margin)
    total = None
    for (lr, ud), prob in zip(flips, probs, strict=True):
        prob = _flip(prob, lr, ud)  # a flip is its own inverse
        total = prob if total is None else total + prob
    return total / len(flips)


def _flip(a: np.ndarray, lr: bool, ud: bool) -> np.ndarray:
    a = a[:, ::-1] if lr else a
    return a[::-1] if ud else a
