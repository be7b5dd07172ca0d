"""Checks on the real IDRiD images; skipped when ../shared/data is absent."""

import numpy as np
import pytest
from conftest import SHARED_DATA
from PIL import Image

from lesionseg.imageio import read_gray
from lesionseg.masks import binarize
from lesionseg.patches import PatchJob, label_patches

IDRID = SHARED_DATA / "IDRiD" / "A. Segmentation"
EX = IDRID / "2. All Segmentation Groundtruths" / "a. Training Set" / "3. Hard Exudates"
pytestmark = pytest.mark.skipif(not IDRID.is_dir(), reason="real IDRiD data not present")


def test_idrid_01_has_160_patches_on_the_papers_grid(tmp_path):
    mask = binarize(read_gray(EX / "IDRiD_01_EX.tif"))
    assert mask.shape == (2848, 4288)
    Image.fromarray(mask).save(tmp_path / "m.png")
    labels = label_patches(PatchJob("IDRiD_01", IDRID, tmp_path / "m.png", 512, 256))
    assert len(labels) == 160
    assert sorted(set(labels.y)) == [0, 256, 512, 768, 1024, 1280, 1536, 1792, 2048, 2336]
    assert sorted(set(labels.x))[-2:] == [3584, 3776]
    assert labels.positive.sum() > 0 and labels.lesion_pixels.sum() >= (mask > 0).sum()


def test_real_masks_binarize_to_exactly_0_and_255_including_rgba(tmp_path):
    src = Image.open(EX / "IDRiD_03_EX.tif")
    truth = np.asarray(src) == 1  # palette index 1 is the lesion
    assert np.unique(binarize(read_gray(EX / "IDRiD_03_EX.tif"))).tolist() == [0, 255]
    rgba = np.zeros(truth.shape + (4,), np.uint8)
    rgba[truth] = (255, 0, 0, 255)  # the official IDRiD_81_EX.tif: RGBA, lesion in red
    Image.fromarray(rgba, "RGBA").save(tmp_path / "81.tif")
    out = binarize(read_gray(tmp_path / "81.tif"))
    assert np.unique(out).tolist() == [0, 255]
    np.testing.assert_array_equal(out == 255, truth)
