"""Pictures for people: predictions drawn over the photograph."""

from __future__ import annotations

import numpy as np

TP, FP, FN = (0, 255, 0), (255, 0, 255), (0, 160, 255)  # green hit, magenta false alarm, blue miss
PRED = (0, 255, 255)


def _shrink(mask: np.ndarray, scale: int) -> np.ndarray:
    """Max-pool so a one-pixel lesion still shows after shrinking."""
    if scale == 1:
        return mask
    h, w = (mask.shape[0] // scale) * scale, (mask.shape[1] // scale) * scale
    return mask[:h, :w].reshape(h // scale, scale, w // scale, scale).any(axis=(1, 3))


def overlay(image: np.ndarray, layers: list[tuple[np.ndarray, tuple[int, int, int]]], scale: int = 1,
            alpha: float = 0.75) -> np.ndarray:
    h, w = (image.shape[0] // scale) * scale, (image.shape[1] // scale) * scale
    out = image[:h:scale, :w:scale].astype(np.float32) if scale > 1 else image.astype(np.float32).copy()
    for mask, colour in layers:
        m = _shrink(mask, scale)[: out.shape[0], : out.shape[1]]
        out[m] = (1 - alpha) * out[m] + alpha * np.array(colour, np.float32)
    return out.astype(np.uint8)


def error_overlay(image: np.ndarray, pred: np.ndarray, truth: np.ndarray, scale: int = 1) -> np.ndarray:
    return overlay(image, [(pred & truth, TP), (pred & ~truth, FP), (~pred & truth, FN)], scale)


def legend(image: np.ndarray, entries: list[tuple[str, tuple[int, int, int]]]) -> np.ndarray:
    """A key in the top-left corner: one colour swatch and name per lesion."""
    from PIL import Image, ImageDraw, ImageFont

    size = max(12, image.shape[0] // 40)
    try:
        font = ImageFont.load_default(size)
    except TypeError:  # Pillow < 10.1 has one fixed size
        font = ImageFont.load_default()
    im = Image.fromarray(image)
    draw = ImageDraw.Draw(im)
    pad = size // 2
    box_w = pad * 3 + size + int(max(draw.textlength(name, font=font) for name, _ in entries))
    draw.rectangle([0, 0, box_w, pad + len(entries) * (size + pad)], fill=(0, 0, 0))
    for i, (name, rgb) in enumerate(entries):
        y = pad + i * (size + pad)
        draw.rectangle([pad, y, pad + size, y + size], fill=rgb)
        draw.text((2 * pad + size, y), name, fill=(255, 255, 255), font=font)
    return np.asarray(im)
