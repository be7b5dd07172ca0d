import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lesionseg.tiling import Stitcher, axis_positions, crop, gaussian_weights, grid


def test_idrid_grid_is_the_papers_10_by_16():
    g = grid(2848, 4288, 512, 256)
    assert len(g) == 160
    ys = sorted({y for _, _, y, _ in g})
    xs = sorted({x for _, _, _, x in g})
    assert ys == [0, 256, 512, 768, 1024, 1280, 1536, 1792, 2048, 2336]
    assert xs == [256 * k for k in range(15)] + [3776]
    assert g[-1] == (9, 15, 2336, 3776)


@settings(max_examples=200, deadline=None)
@given(length=st.integers(1, 5000), patch=st.integers(8, 600), stride_frac=st.floats(0.1, 1.0))
def test_positions_cover_every_pixel_inside_the_image(length, patch, stride_frac):
    stride = max(1, int(patch * stride_frac))
    pos = axis_positions(length, patch, stride)
    assert pos == sorted(set(pos)) and pos[0] == 0
    covered = np.zeros(max(length, patch), bool)
    for p in pos:
        assert p + patch <= max(length, patch)
        covered[p : p + patch] = True
    assert covered[:length].all()


def test_small_image_gets_one_zero_padded_patch():
    img = np.full((100, 300, 3), 7, np.uint8)
    assert grid(100, 300, 512, 256) == [(0, 0, 0, 0)]
    p = crop(img, 0, 0, 512)
    assert p.shape == (512, 512, 3)
    assert (p[:100, :300] == 7).all() and (p[100:] == 0).all() and (p[:, 300:] == 0).all()


@pytest.mark.parametrize("weights", [None, gaussian_weights(64)])
def test_stitching_the_patches_rebuilds_the_image(weights):
    rng = np.random.default_rng(0)
    img = rng.random((150, 230)).astype(np.float32)
    st_ = Stitcher(150, 230, 64, weights)
    for _, _, y, x in grid(150, 230, 64, 32):
        st_.add(y, x, crop(img, y, x, 64))
    np.testing.assert_allclose(st_.result(), img, rtol=1e-6, atol=1e-6)
