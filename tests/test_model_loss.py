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


def test_wbce_dice_matches_numpy_over_the_batch():
    from lesionseg.losses import make_loss

    rng = np.random.default_rng(3)
    y = (rng.random((4, 12, 12, 1)) > 0.9).astype(np.float32)
    y[1] = 0  # a patch without lesion: Dice is over the batch, so it adds no 0/0
    x = rng.normal(0, 2, y.shape).astype(np.float32)
    p = 1 / (1 + np.exp(-x.astype(np.float64)))
    dice_loss = 1 - (2 * (p * y).sum() + 1) / (p.sum() + y.sum() + 1)
    loss = make_loss("wbce_dice", 3.0)
    got = keras.ops.convert_to_numpy(loss.call(y, x))
    np.testing.assert_allclose(got, numpy_weighted_bce(y, x, 3.0) + dice_loss, rtol=1e-5)
    assert float(keras.ops.convert_to_numpy(loss(y, x))) == pytest.approx(float(got.mean()), rel=1e-5)
    assert isinstance(make_loss("wbce", 3.0), WeightedBCE) and make_loss("wbce", 3.0).dice_weight == 0
    with pytest.raises(ValueError, match="unknown loss"):
        make_loss("focal", 3.0)


def test_cosine_schedule_warms_up_linearly_then_decays_to_zero():
    import argparse

    from train import learning_rate

    args = argparse.Namespace(lr_schedule="cosine", learning_rate=1e-3, epochs=4, warmup_steps=10)
    sched = learning_rate(args, 25)  # 100 steps in all
    lr = [float(keras.ops.convert_to_numpy(sched(s))) for s in (0, 5, 10, 55, 100)]
    assert lr[0] == 0 and lr[1] == pytest.approx(5e-4) and lr[2] == pytest.approx(1e-3)
    assert lr[3] == pytest.approx(5e-4, rel=1e-3) and lr[4] == pytest.approx(0, abs=1e-9)
    args.lr_schedule = "constant"
    assert learning_rate(args, 25) == 1e-3


def test_tta_averages_the_four_flips():
    from lesionseg.predict import Inference, predict_fast, predict_prepared

    keras.utils.set_random_seed(0)
    model = build_unet(base_filters=2, depth=3, l2=0.0)
    image = np.random.default_rng(0).integers(0, 255, (40, 56, 3)).astype(np.uint8)
    views = []
    for lr in (False, True):
        for ud in (False, True):
            v = image[:, ::-1] if lr else image
            v = v[::-1] if ud else v
            p = predict_fast(model, np.ascontiguousarray(v), 4, 4352, 8)
            p = p[::-1] if ud else p
            views.append(p[:, ::-1] if lr else p)
    got = predict_prepared(model, image, Inference(tta=True, margin=8))
    np.testing.assert_allclose(got, np.mean(views, axis=0), atol=1e-6)
    plain = predict_prepared(model, image, Inference(margin=8))
    np.testing.assert_allclose(plain, views[0], atol=1e-6)
    assert np.abs(got - plain).max() > 1e-4  # an untrained net is not flip-invariant: TTA changed something



def test_tta_transpose_averages_all_eight_rotations_and_mirrors():
    """The transposed image's four flips join the four of the image, each put back in place; a
    non-square image shows a swapped axis, and the mean must differ from the flips' alone."""
    from lesionseg.card import _predicted
    from lesionseg.predict import Inference, predict_fast, predict_prepared

    keras.utils.set_random_seed(0)
    model = build_unet(base_filters=2, depth=3, l2=0.0)
    image = np.random.default_rng(1).integers(0, 255, (40, 56, 3)).astype(np.uint8)
    views = []
    for transposed in (False, True):
        base = image.transpose(1, 0, 2) if transposed else image
        for k in range(4):  # rotations of the (transposed) image: with the transpose, the eight symmetries
            p = predict_fast(model, np.ascontiguousarray(np.rot90(base, k)), 4, 4352, 8)
            p = np.rot90(p, -k)
            views.append(p.transpose(1, 0, 2) if transposed else p)
    eight = Inference(tta=True, tta_transpose=True, margin=8)
    got = predict_prepared(model, image, eight)
    assert got.shape == (40, 56, 1)
    np.testing.assert_allclose(got, np.mean(views, axis=0), atol=1e-6)
    flips = predict_prepared(model, image, Inference(tta=True, margin=8))
    assert np.abs(got - flips).max() > 1e-4
    two = predict_prepared(model, image, Inference(tta_transpose=True, margin=8))  # no flips: image and transpose
    np.testing.assert_allclose(two, (views[0] + views[4]) / 2, atol=1e-6)
    assert eight.passes == 8 and Inference(tta=True).passes == 4
    assert "eight rotations and mirrors" in _predicted(eight)
    assert "transpose" in _predicted(Inference(tta_transpose=True)) and "four flips" in _predicted(Inference(tta=True))

def _np_pool(x, size, fn, fill):
    """Stride-1 'same' pooling of a (batch, h, w, c) array with fn (np.max / np.min); the border
    is padded with fill so that it never wins."""
    ry, rx = size[0] // 2, size[1] // 2
    padded = np.pad(x, ((0, 0), (ry, ry), (rx, rx), (0, 0)), constant_values=fill)
    h, w = x.shape[1:3]
    shifts = [padded[:, dy:dy + h, dx:dx + w] for dy in range(size[0]) for dx in range(size[1])]
    return fn(np.stack(shifts), axis=0)


def numpy_soft_skeleton(x, steps):
    def erode(a):
        return np.minimum(_np_pool(a, (3, 1), np.min, np.inf), _np_pool(a, (1, 3), np.min, np.inf))

    def opened(a):
        return _np_pool(erode(a), (3, 3), np.max, -np.inf)

    skel = np.maximum(x - opened(x), 0)
    for _ in range(steps):
        x = erode(x)
        delta = np.maximum(x - opened(x), 0)
        skel = skel + np.maximum(delta - skel * delta, 0)
    return skel


def test_soft_skeleton_matches_numpy_and_thins_a_bar_to_its_centre_line():
    from lesionseg.losses import soft_skeleton

    rng = np.random.default_rng(4)
    x = rng.random((2, 20, 24, 2)).astype(np.float32)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(soft_skeleton(x, 5)), numpy_soft_skeleton(x, 5),
                               atol=1e-6)
    bar = np.zeros((1, 21, 40, 1), np.float32)
    bar[0, 7:14, 5:35] = 1  # 7 pixels thick
    skel = keras.ops.convert_to_numpy(soft_skeleton(bar))[0, ..., 0]
    assert skel[bar[0, ..., 0] == 0].max() == 0  # nothing outside the bar
    assert skel[:10].sum() == 0 and skel[11:].sum() == 0  # one line, the centre row
    assert (skel[10, 8:32] == 1).all()  # unbroken along the bar


def test_cldice_counts_a_missed_thin_vessel_by_length_where_dice_counts_pixels():
    from lesionseg.losses import _batch_cldice_loss, _batch_dice_loss, make_loss

    y = np.zeros((1, 32, 64, 1), np.float32)
    y[0, 4:11, 2:62] = 1  # a thick vessel, 7 px
    y[0, 24, 2:62] = 1  # a thin one, 1 px, as long
    hit_all = np.where(y > 0, 30.0, -30.0).astype(np.float32)
    miss_thin = hit_all.copy()
    miss_thin[0, 24] = -30.0
    ops = keras.ops.convert_to_numpy
    assert float(ops(_batch_cldice_loss(y, hit_all))) == pytest.approx(0, abs=1e-3)
    dice, cldice = float(ops(_batch_dice_loss(y, miss_thin))), float(ops(_batch_cldice_loss(y, miss_thin)))
    # the thin vessel is an eighth of the pixels, so Dice loses about 1/15; its skeleton is half the
    # length, so clDice's sensitivity halves and the loss is about 1/3
    assert dice == pytest.approx(1 / 15, abs=0.01) and cldice == pytest.approx(1 / 3, abs=0.03)
    loss = make_loss("wbce_cldice", 3.0)
    np.testing.assert_allclose(ops(loss.call(y, miss_thin)),
                               ops(WeightedBCE(3.0).call(y, miss_thin)) + 0.5 * dice + 0.5 * cldice, rtol=1e-5)
    assert keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss)).cldice_weight == 0.5
