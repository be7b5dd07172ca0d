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


def test_the_shipped_vessel_model_segments_a_drive_test_image_as_its_card_says():
    """The zoo's DRIVE model on official test image 02 at its stored threshold: the F1 inside the
    field of view is what the one scoring gave it (0.854), far above what a wrong preparation, a
    lost threshold or another image's mask would give."""
    import numpy as np

    from lesionseg.bundle import Bundle
    from lesionseg.predictor import Predictor

    test = SHARED_DATA / "DRIVE" / "test"
    if not (test / "images").is_dir():
        pytest.skip("the DRIVE test images are not present")
    folder = ROOT / "models" / "drive-vessels-unet16x4"
    predictor = Predictor.load(folder, engine="tensorflow")
    probabilities = predictor.predict(read_rgb(test / "images" / "02_test.tif"))[..., 0]
    vessels = read_binary_mask(test / "1st_manual" / "02_manual1.gif")
    fov = read_binary_mask(test / "mask" / "02_test_mask.gif")
    found = probabilities >= Bundle.read(folder).thresholds["vessels"].value
    tp = np.sum(found & vessels & fov)
    f1 = 2 * tp / (np.sum(found & fov) + np.sum(vessels & fov))
    assert 0.83 <= f1 <= 0.88  # per_image.csv of the one scoring: 0.854
