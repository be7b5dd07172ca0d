import keras
import numpy as np
import pytest

from lesionseg.losses import WeightedBCE, soft_dice
from lesionseg.model import build_unet, conv_flops


def numpy_weighted_bce(y, logits, w):
    p = 1 / (1 + np.exp(-logits.astype(np.float64)))
    bce = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    return ((1 + (w - 1) * y) * bce).mean(axis=(1, 2, 3))


@pytest.mark.parametrize("w", [1.0, 3.0, 9.0])
def test_weighted_bce_matches_numpy(w):
    rng = np.random.default_rng(1)
    y = (rng.random((3, 16, 16, 1)) > 0.8).astype(np.float32)
    logits = rng.normal(0, 3, y.shape).astype(np.float32)
    got = keras.ops.convert_to_numpy(WeightedBCE(w).call(y, logits))
    np.testing.assert_allclose(got, numpy_weighted_bce(y, logits, w), rtol=1e-5)
    # the weight really weighs lesion pixels: only lesion terms grow with w
    if w > 1:
        base = keras.ops.convert_to_numpy(WeightedBCE(1.0).call(y, logits))
        assert (got > base).all()


def test_bce_is_finite_for_huge_logits():
    y = np.array([1, 0, 1, 0], np.float32).reshape(1, 2, 2, 1)
    x = np.array([200, -200, -200, 200], np.float32).reshape(1, 2, 2, 1)
    got = float(keras.ops.convert_to_numpy(WeightedBCE(3.0).call(y, x))[0])
    assert np.isfinite(got) and got == pytest.approx((0 + 0 + 3 * 200 + 200) / 4, rel=1e-5)


def test_soft_dice_on_empty_masks_and_against_numpy():
    empty = np.zeros((2, 8, 8, 1), np.float32)
    very_negative = np.full_like(empty, -1e4)  # sigmoid underflows to exactly 0
    d = keras.ops.convert_to_numpy(soft_dice(empty, very_negative))
    assert np.isfinite(d).all() and (d == 1).all()
    rng = np.random.default_rng(2)
    y = (rng.random((2, 8, 8, 1)) > 0.5).astype(np.float32)
    x = rng.normal(size=y.shape).astype(np.float32)
    p = 1 / (1 + np.exp(-x))
    ref = 2 * (p * y).sum(axis=(1, 2, 3)) / (p.sum(axis=(1, 2, 3)) + y.sum(axis=(1, 2, 3)))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(soft_dice(y, x)), ref, rtol=1e-5)


def test_paper_model_has_31_1_million_parameters_and_35_8_gflop():
    model = build_unet()
    assert model.count_params() == 31_134_321
    assert conv_flops(model, 512, 512) / 1e9 == pytest.approx(35.7, abs=0.15)


@pytest.mark.parametrize("shape", [(64, 64), (128, 192), (320, 64)])
def test_model_takes_any_multiple_of_2_to_depth_minus_1(shape):
    model = build_unet(base_filters=2, depth=4)
    out = model(np.zeros((1, *shape, 3), np.float32))
    assert tuple(out.shape) == (1, *shape, 1) and out.dtype == "float32"
