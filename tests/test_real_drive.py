"""Checks on the real DRIVE training images; skipped when ../shared/data is absent."""

import importlib.util

import pytest
from conftest import ROOT, SHARED_DATA

from lesionseg.imageio import read_binary_mask, read_rgb
from lesionseg.prep import Prep, prepare_image

DRIVE = SHARED_DATA / "DRIVE" / "training"
pytestmark = pytest.mark.skipif(not (DRIVE / "images").is_dir(), reason="real DRIVE data not present")


def _bench_contrast():
    """The measure `bench/background_contrast.py` prints, so the test and the figures agree."""
    spec = importlib.util.spec_from_file_location("background_contrast", ROOT / "bench" / "background_contrast.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.contrast


def test_green_flat_brings_the_most_textured_drive_image_among_the_others():
    """Image 34 (a tessellated, partly atrophic fundus) is the one whose vessels stand out least from
    the background after green_clahe; once the background is flattened it is no longer an outlier."""
    contrast = _bench_contrast()
    ratio = {"green_clahe": {}, "green_flat": {}}
    for image in sorted((DRIVE / "images").glob("*_training.tif")):
        stem = image.name.split("_")[0]
        rgb = read_rgb(image)
        vessels = read_binary_mask(DRIVE / "1st_manual" / f"{stem}_manual1.gif")
        fov = read_binary_mask(DRIVE / "mask" / f"{stem}_training_mask.gif")
        for name, by_stem in ratio.items():
            grey = prepare_image(rgb, Prep(preprocess=name))[..., 1].astype(float)
            by_stem[stem] = contrast(grey, vessels, fov)["ratio"]
    assert len(ratio["green_clahe"]) == 20
    for name, by_stem in ratio.items():
        others = sorted(v for s, v in by_stem.items() if s != "34")
        if name == "green_clahe":
            assert by_stem["34"] < others[0] - 0.1  # the lowest by a margin
        else:
            assert others[2] < by_stem["34"] < others[-3]  # well inside the others' range
