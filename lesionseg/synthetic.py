"""Synthetic fundus photographs with hard-exudate masks, for the demo and the tests.

Each image has what makes the task real: a black surround, a lit retina disc with vignetting,
vessels, a bright optic disc (an exudate look-alike that is never labelled), a darker macula and
small bright-yellow irregular exudate clusters, which alone are labelled. On request it also has
dark-red haemorrhage-like blots with their own mask, for models of several lesions.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

EXUDATE_RGB = np.array([250, 225, 90], np.float32)
HAEMORRHAGE_RGB = np.array([95, 18, 8], np.float32)


def _vessels(draw: ImageDraw.ImageDraw, rng: np.random.Generator, od: tuple[float, float], scale: float) -> None:
    for k in range(10):
        angle = 2 * np.pi * k / 10 + rng.uniform(-0.3, 0.3)
        x, y = od
        width = max(1, int(scale * rng.uniform(10, 16)))
        for _ in range(28):
            angle += rng.normal(0, 0.25)
            nx, ny = x + np.cos(angle) * 60 * scale, y + np.sin(angle) * 60 * scale
            draw.line([(x, y), (nx, ny)], fill=255, width=width)
            x, y = nx, ny
            width = max(1, int(width * 0.94))


def _blob(draw: ImageDraw.ImageDraw, rng: np.random.Generator, cx: float, cy: float, r: float) -> None:
    """An irregular star-shaped polygon: exudates are not circles."""
    n = int(rng.integers(7, 12))
    angles = np.sort(rng.uniform(0, 2 * np.pi, n))
    radii = r * rng.uniform(0.5, 1.2, n)
    draw.polygon([(cx + rr * np.cos(a), cy + rr * np.sin(a)) for a, rr in zip(angles, radii, strict=True)], fill=255)


def fundus(width: int, height: int, seed: int, n_clusters: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(HxWx3 uint8 image, HxW bool exudate mask)."""
    image, masks = fundus_lesions(width, height, seed, n_clusters, n_blots=0)
    return image, masks["EX"]


def _blots(rng: np.random.Generator, width: int, height: int, centre: tuple[float, float], radius: float,
           od: tuple[float, float], n_blots: int) -> np.ndarray:
    """HxW bool mask of `n_blots` irregular haemorrhage-like blots inside the retina, off the disc."""
    layer = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(layer)
    scale = height / 2848
    placed = 0
    while placed < n_blots:
        ang, rad = rng.uniform(0, 2 * np.pi), radius * np.sqrt(rng.uniform(0.02, 0.7))
        px, py = centre[0] + rad * np.cos(ang), centre[1] + rad * np.sin(ang)
        if (px - od[0]) ** 2 + (py - od[1]) ** 2 < (0.3 * radius) ** 2:
            continue
        for _ in range(int(rng.integers(1, 4))):
            _blob(draw, rng, px + rng.normal(0, 25 * scale), py + rng.normal(0, 25 * scale),
                  max(3.0, rng.uniform(25, 60) * scale))
        placed += 1
    return np.asarray(layer) > 0


def fundus_lesions(width: int, height: int, seed: int, n_clusters: int | None = None,
                   n_blots: int = 0) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(HxWx3 uint8 image, {"EX": exudate mask, "HE": haemorrhage mask}); with n_blots 0 the image is
    exactly fundus()'s and the HE mask empty."""
    rng = np.random.default_rng(seed)
    scale = height / 2848
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    cx, cy, radius = width / 2, height / 2, 0.53 * height
    r2 = ((xx - cx) ** 2 + (yy - cy) ** 2) / radius**2
    fov = r2 <= 1
    side = rng.choice([-1, 1])
    od = (cx + side * 0.55 * radius, cy + rng.uniform(-0.1, 0.1) * radius)
    macula = (cx - side * 0.15 * radius, cy)
    base = np.array([205, 85, 35], np.float32) * rng.uniform(0.85, 1.1)
    light = 1.0 - 0.45 * r2
    img = base[None, None] * light[..., None]
    dm = ((xx - macula[0]) ** 2 + (yy - macula[1]) ** 2) / (0.18 * radius) ** 2
    img *= (1 - 0.35 * np.exp(-dm))[..., None]
    layer = Image.new("L", (width, height), 0)
    _vessels(ImageDraw.Draw(layer), rng, od, scale)
    ves = np.asarray(layer.filter(ImageFilter.GaussianBlur(2 * scale + 0.5)), np.float32) / 255
    img *= (1 - 0.45 * ves)[..., None]
    do = ((xx - od[0]) ** 2 + (yy - od[1]) ** 2) / (0.13 * radius) ** 2
    od_glow = np.exp(-(do**2))[..., None]
    img = img * (1 - od_glow) + np.array([250, 230, 150], np.float32) * od_glow

    # exudate clusters, kept away from the optic disc and inside the retina
    mask_im = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(mask_im)
    n_clusters = int(rng.integers(0, 6)) if n_clusters is None else n_clusters
    placed = 0
    while placed < n_clusters:
        ang, rad = rng.uniform(0, 2 * np.pi), radius * np.sqrt(rng.uniform(0.02, 0.6))
        px, py = cx + rad * np.cos(ang), cy + rad * np.sin(ang)
        if (px - od[0]) ** 2 + (py - od[1]) ** 2 < (0.3 * radius) ** 2 or not (0 <= px < width and 0 <= py < height):
            continue
        for _ in range(int(rng.integers(4, 14))):
            _blob(draw, rng, px + rng.normal(0, 60 * scale), py + rng.normal(0, 60 * scale),
                  max(2.0, rng.uniform(5, 22) * scale))
        placed += 1
    mask = (np.asarray(mask_im) > 0) & fov
    img = _paint(img, mask, EXUDATE_RGB)
    blots = np.zeros_like(mask)
    if n_blots:  # drawn only on request, so the random stream of an exudate-only image is unchanged
        blots = _blots(rng, width, height, (cx, cy), radius, od, n_blots) & fov & ~mask
        img = _paint(img, blots, HAEMORRHAGE_RGB)
    img += rng.normal(0, 3, img.shape).astype(np.float32)
    img *= fov[..., None]
    return np.clip(img, 0, 255).astype(np.uint8), {"EX": mask, "HE": blots}


def _paint(img: np.ndarray, mask: np.ndarray, rgb: np.ndarray) -> np.ndarray:
    """Blend a lesion colour in with a slightly soft edge."""
    soft = np.asarray(Image.fromarray(mask.astype(np.uint8) * 255).filter(ImageFilter.GaussianBlur(1.0)),
                      np.float32)[..., None] / 255
    return img * (1 - 0.9 * soft) + rgb * 0.9 * soft


def write_palette_tiff_1bit(mask: np.ndarray, path: Path) -> None:
    """A 1-bit palette TIFF (index 0 black, 1 red), the format of IDRiD's official masks."""
    h, w = mask.shape
    data = np.packbits(mask.astype(np.uint8), axis=1).tobytes()
    colormap = [0, 65535, 0, 0, 0, 0]  # red[0..1], green[0..1], blue[0..1]
    entries = [  # tag, type (3 short, 4 long), count, value
        (256, 4, 1, w), (257, 4, 1, h), (258, 3, 1, 1), (259, 3, 1, 1), (262, 3, 1, 3),
        (273, 4, 1, 0), (277, 3, 1, 1), (278, 4, 1, h), (279, 4, 1, len(data)), (284, 3, 1, 1), (320, 3, 6, 0),
    ]
    ifd_offset = 8
    ifd_size = 2 + 12 * len(entries) + 4
    cmap_offset = ifd_offset + ifd_size
    data_offset = cmap_offset + 12
    out = bytearray(b"II*\x00" + struct.pack("<I", ifd_offset) + struct.pack("<H", len(entries)))
    for tag, typ, count, value in entries:
        value = {273: data_offset, 320: cmap_offset}.get(tag, value)
        packed = struct.pack("<H", value) + b"\x00\x00" if typ == 3 and count == 1 else struct.pack("<I", value)
        out += struct.pack("<HHI", tag, typ, count) + packed
    out += struct.pack("<I", 0) + struct.pack("<6H", *colormap) + data
    path.write_bytes(bytes(out))


def write_rgba_mask(mask: np.ndarray, path: Path) -> None:
    """Like the official IDRiD_81_EX.tif: RGBA, lesion in red, transparent background."""
    rgba = np.zeros(mask.shape + (4,), np.uint8)
    rgba[mask] = (255, 0, 0, 255)
    Image.fromarray(rgba, "RGBA").save(path, format="TIFF")
