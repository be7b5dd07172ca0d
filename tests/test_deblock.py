"""Heavy JPEG found by its block grid and smoothed before the preparation, and nothing else touched
(lesionseg.deblock, Prep.deblock, extract_patches.py --deblock)."""

from __future__ import annotations

import numpy as np
import pytest

from lesionseg.prep import Prep, prepare_image


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    from lesionseg.synthetic import fundus

    return fundus(800, 600, seed=7)[0]


def test_blockiness_grows_with_compression_whatever_the_grid_offset(photo):
    """Why: the gate reads one number; it must rise with the JPEG quality falling, and stay at 1 for
    changes of light, colour, focus and resolution, which draw no block grid."""
    from lesionseg.corruptions import CORRUPTIONS, corrupt, jpeg
    from lesionseg.deblock import blockiness

    assert blockiness(photo) < 1.05  # no block grid at all in a photograph never compressed
    for name, (_, strengths) in CORRUPTIONS.items():
        for s in strengths:
            if name != "jpeg":
                assert blockiness(corrupt(photo, name, s)) < 1.5, (name, s)
    scores = [blockiness(jpeg(photo, q)) for q in (90, 50, 10)]
    assert 1.05 < scores[0] < scores[1] < scores[2]
    # a file cropped after it was compressed moves the grid: found as strong, whatever the offset
    heavy = jpeg(photo, 10)
    assert blockiness(np.ascontiguousarray(heavy[3:, 5:])) == pytest.approx(scores[2], rel=0.1)
    assert blockiness(photo[:20, :20]) == 1.0  # too small to tell: no grid


def test_the_gate_smooths_heavy_jpeg_and_no_idrid_camera_file():
    """Why: the gate is chosen on IDRiD's training photographs (bench/deblock.py); on two of them the
    camera's own files, and every corruption but heavy JPEG, stay below it, and quality 10 far above."""
    from conftest import SHARED_DATA

    from lesionseg.corruptions import CORRUPTIONS, corrupt, jpeg
    from lesionseg.deblock import GATE, blockiness
    from lesionseg.imageio import read_rgb

    folder = SHARED_DATA / "IDRiD" / "A. Segmentation" / "1. Original Images" / "a. Training Set"
    if not folder.is_dir():
        pytest.skip("IDRiD is not under ../shared/data")
    for name in ("IDRiD_03.jpg", "IDRiD_20.jpg"):
        rgb = read_rgb(folder / name)
        assert blockiness(rgb) < GATE / 2
        for corruption, (_, strengths) in CORRUPTIONS.items():
            for s in strengths:
                if corruption != "jpeg" or s > 20:
                    assert blockiness(corrupt(rgb, corruption, s)) < GATE / 2, (name, corruption, s)
        assert blockiness(jpeg(rgb, 10)) > 2 * GATE


def test_deblock_smooths_only_above_the_gate_and_brings_the_photograph_back(photo):
    """Why: below its gate a photograph must reach the network exactly as without the filter; above
    it, the smoothing must take the mosaic closer to what the camera saw. (This small synthetic
    photograph is detailed for its size, so its grid scores lower than a camera file's: a low gate
    and a narrow smoothing here.)"""
    from lesionseg.corruptions import jpeg
    from lesionseg.deblock import blockiness, deblock

    heavy = jpeg(photo, 10)
    gate = 2.0
    assert blockiness(photo) < gate < blockiness(heavy)
    assert deblock(photo, gate, 1.0) is photo and deblock(heavy, 0, 1.0) is heavy  # gate 0: off
    smoothed = deblock(heavy, gate, 1.0)
    assert smoothed.shape == heavy.shape and smoothed.dtype == np.uint8

    def error(x):
        return float(np.mean((x.astype(np.float32) - photo) ** 2))

    assert error(smoothed) < 0.95 * error(heavy)  # closer to the photograph than the mosaic was
    # in the preparation: a clean photograph's network input is the same with the gate as without
    prep = Prep(scale=0.5, preprocess="clahe")
    gated = Prep(scale=0.5, preprocess="clahe", deblock=gate, deblock_sigma=1.0)
    np.testing.assert_array_equal(prepare_image(photo, gated), prepare_image(photo, prep))
    assert not np.array_equal(prepare_image(heavy, gated), prepare_image(heavy, prep))


def test_deblock_is_stored_with_the_model_and_checked(tmp_path, tiny_ws):
    from conftest import check_stored_prep, extract_copy

    check_stored_prep(Prep(preprocess="clahe", deblock=6.0, deblock_sigma=2.0),
                      [{"deblock": -1.0}, {"deblock": 0.5}, {"deblock": 6.0, "deblock_sigma": 0.0}], "deblock")
    assert "deblock" not in Prep().as_dict() and Prep.from_dict({"preprocess": "clahe"}).deblock == 0
    assert extract_copy(tiny_ws, tmp_path / "ws", "--deblock", "6").deblock == 6.0


def test_the_jpeg_parts_bench_swaps_lightness_and_colour_apart(photo):
    """Why: bench/jpeg_parts.py tells lost detail from lost colour by compressing one part only; each
    view must carry the compressed part and the clean rest (to YCrCb's rounding)."""
    import cv2
    from conftest import bench_module

    from lesionseg.corruptions import jpeg

    bench = bench_module("jpeg_parts")
    compressed = jpeg(photo, 10)
    ycc = {name: cv2.cvtColor(x, cv2.COLOR_RGB2YCrCb).astype(int) for name, x in
           (("clean", photo), ("compressed", compressed), ("light", bench.swap(photo, compressed, True)),
            ("colour", bench.swap(photo, compressed, False)))}
    assert np.abs(ycc["light"][..., 0] - ycc["compressed"][..., 0]).mean() < 1
    assert np.abs(ycc["light"][..., 1:] - ycc["clean"][..., 1:]).mean() < 1
    assert np.abs(ycc["colour"][..., 1:] - ycc["compressed"][..., 1:]).mean() < 1
    assert np.abs(ycc["colour"][..., 0] - ycc["clean"][..., 0]).mean() < 1
    change = np.abs(ycc["compressed"] - ycc["clean"]).mean(axis=(0, 1))
    assert change[0] > 1 and change[1:].max() > 1  # the compression did change both parts
