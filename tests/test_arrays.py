"""The input without TensorFlow (lesionseg.arrays) gives the tf.data input's batches for the same seed:
the same patches in the same order, masks and flips exactly, and colours within
PHOTOMETRIC_TOLERANCE (0..255 pixels), for the fixed grid and for fresh crops, from any epoch on, so
a run resumed on either input goes on with the same batches."""

import numpy as np
import pytest
import tensorflow as tf

from lesionseg import arrays, draws
from lesionseg.arrays import PHOTOMETRIC_TOLERANCE
from lesionseg.draws import Augment
from lesionseg.pipeline import augment, training_dataset

STRONG = Augment(brightness=0.2, hue=0.3, rotations=True, contrast=0.4)


def test_tensorflow_and_numpy_draw_the_same_numbers():
    for seed in [(42, 0), (42, 10**9), (-7, 3), (2**40 + 1, 2**33)]:
        assert np.array_equal(draws.uniforms_np(seed), draws.uniforms_tf(tf.constant(seed, tf.int64)).numpy())
    u = np.stack([draws.uniforms_np((1, k)) for k in range(4000)])
    assert ((u >= 0) & (u < 1)).all() and np.allclose(u.mean(axis=0), 0.5, atol=0.02)  # uniform, per draw
    assert abs(np.corrcoef(u[:, draws.LR], u[:, draws.HUE])[0, 1]) < 0.05  # the draws are independent


@pytest.mark.parametrize("delta", [0.3, -0.45, 0.02])
def test_numpy_hue_rotation_matches_tensorflow(delta):
    rng = np.random.default_rng(0)
    x = rng.random((32, 48, 3)).astype(np.float32)
    x[:4] = x[:4, :, :1]  # grey pixels: no hue to turn
    expected = tf.image.adjust_hue(x, delta).numpy()
    assert np.abs(arrays.adjust_hue(x, delta) - expected).max() < 1e-5


def test_one_patch_is_augmented_alike(tiny_patch_files):
    images, masks = arrays.decode_patches(*tiny_patch_files)
    image, mask = images[0].astype(np.float32), masks[0].astype(np.float32)
    for position in range(12):
        want_x, want_y = augment(tf.constant(image), tf.constant(mask), tf.constant([5, position], tf.int64), STRONG)
        got_x, got_y = arrays.augment(image, mask, (5, position), STRONG)
        assert np.array_equal(got_y, want_y.numpy())
        assert np.abs(got_x - want_x.numpy()).max() <= PHOTOMETRIC_TOLERANCE


@pytest.fixture(scope="module")
def tiny_patch_files(tiny_ws):
    from lesionseg.arrays import load_patch_table

    return load_patch_table(tiny_ws / "train.csv", tiny_ws)


@pytest.mark.parametrize("start", [0, 1])
def test_grid_batches_equal_the_tf_data_batches(tiny_patch_files, start):
    paths = tiny_patch_files
    images, masks = arrays.decode_patches(*paths)
    want = list(training_dataset(*paths, 8, 7, start, 3, STRONG, per_epoch=20))
    got = list(arrays.training_batches(images, masks, 8, 7, start, 3, STRONG, per_epoch=20, workers=3))
    assert [x.shape for x, _ in got] == [tuple(x.shape) for x, _ in want]  # short last batch of each epoch too
    assert len(got) == 3 * (3 - start)
    for (gx, gy), (wx, wy) in zip(got, want, strict=True):
        assert np.array_equal(gy, wy.numpy())
        assert np.abs(gx - wx.numpy()).max() <= PHOTOMETRIC_TOLERANCE


def test_crop_batches_equal_the_tf_data_batches(tiny_ws):
    from lesionseg.crops import crop_dataset, crop_table, load_bank
    from lesionseg.prep import PREP_FILE, Prep

    bank = load_bank(tiny_ws / "train.csv", tiny_ws, Prep.read(tiny_ws / "patches" / PREP_FILE))
    want = list(crop_dataset(bank, 32, 4, 3, 1, 3, 8, 0.7, STRONG))
    table = crop_table(bank, 32, 3, 1, 3, 8, 0.7)
    got = list(arrays.crop_batches(bank, 32, 4, 3, table, 8, STRONG, workers=2))
    assert len(got) == len(want) == 4
    for (gx, gy), (wx, wy) in zip(got, want, strict=True):
        assert np.array_equal(gy, wy.numpy())
        assert np.abs(gx - wx.numpy()).max() <= PHOTOMETRIC_TOLERANCE


def test_validation_patches_are_an_even_fixed_spread():
    """VAL_PATCHES: 0 keeps all, -1 none, N a spread over the whole list (patches are listed image by
    image, so every image keeps some) that does not depend on any seed."""
    items = [f"p{i}" for i in range(10)]
    assert arrays.evenly_spaced(items, 0) == items and arrays.evenly_spaced(items, -1) == []
    assert arrays.evenly_spaced(items, 3) == ["p0", "p4", "p9"]
    assert arrays.evenly_spaced(items, 50) == items and arrays.evenly_spaced([], 3) == []
