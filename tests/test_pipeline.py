import numpy as np
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

from lesionseg.pipeline import Augment, augment, epoch_orders, load_patch_table, training_dataset


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), data=st.data())
def test_augmentation_keeps_image_and_mask_aligned(seed, data):
    h, w = data.draw(st.integers(4, 24)), data.draw(st.integers(4, 24))
    rng = np.random.default_rng(seed)
    mask = (rng.random((h, w, 1)) > 0.5).astype(np.float32)
    image = np.repeat(mask * 255.0, 3, axis=2)  # grey: hue cannot move it, brightness moves all alike
    out_img, out_mask = augment(tf.constant(image), tf.constant(mask), tf.constant([seed, 7]), Augment())
    out_img, out_mask = out_img.numpy(), out_mask.numpy()
    assert set(np.unique(out_mask)) <= {0.0, 1.0} and out_mask.sum() == mask.sum()
    on, off = out_img[out_mask[..., 0] == 1], out_img[out_mask[..., 0] == 0]
    if len(on) and len(off):
        assert on.min() > off.max()  # lesion pixels of the image are exactly where the mask says
    assert 0 <= out_img.min() and out_img.max() <= 255


def test_both_flips_happen_and_combine():
    image = np.zeros((4, 4, 3), np.float32)
    mask = np.zeros((4, 4, 1), np.float32)
    mask[0, 0] = 1
    corners = set()
    for s in range(64):
        _, m = augment(tf.constant(image), tf.constant(mask), tf.constant([s, 0]), Augment(brightness=0, hue=0))
        corners.add(tuple(np.argwhere(m.numpy()[..., 0] == 1)[0]))
    assert corners == {(0, 0), (0, 3), (3, 0), (3, 3)}  # the paper's code never reached (3, 3)


def test_rotations_reach_all_eight_symmetries_and_keep_the_flips_stream():
    rng = np.random.default_rng(0)
    image = rng.random((5, 5, 3)).astype(np.float32) * 255  # no symmetry: every view is distinct
    mask = np.zeros((5, 5, 1), np.float32)
    mask[0, 1] = 1
    views = set()
    for s in range(96):
        seed = tf.constant([s, 0])
        img, m = augment(tf.constant(image), tf.constant(mask), seed, Augment(brightness=0, hue=0, rotations=True))
        img, m = img.numpy(), m.numpy()[..., 0]
        # the mask went wherever the image went
        k = next(k for k in range(8) if np.array_equal(img, _dihedral(image, k)))
        assert np.array_equal(m, _dihedral(mask, k)[..., 0])
        views.add(k)
        # the flips are those the same seed draws without rotations, of the image or of its transpose
        flips = Augment(brightness=0, hue=0)
        plain = augment(tf.constant(image), tf.constant(mask), seed, flips)[0].numpy()
        swapped = augment(tf.constant(np.transpose(image, (1, 0, 2))), tf.constant(mask), seed, flips)[0].numpy()
        assert np.array_equal(img, plain) or np.array_equal(img, swapped)
    assert views == set(range(8))


def _dihedral(a: np.ndarray, k: int) -> np.ndarray:
    """k = 0..3: rotation by 90 * k degrees; 4..7: the same after a left-right mirror."""
    return np.rot90(a[:, ::-1] if k >= 4 else a, k % 4)


def test_brightness_acts_on_unit_range():
    image = np.full((8, 8, 3), 100.0, np.float32)
    mask = np.zeros((8, 8, 1), np.float32)
    shifts = {float(augment(tf.constant(image), tf.constant(mask), tf.constant([s, 1]),
                            Augment(flips=False, hue=0))[0].numpy().mean()) - 100 for s in range(20)}
    assert max(abs(v) for v in shifts) > 40  # a delta of up to 0.7 of the full range, not 0.7 grey levels


def test_contrast_scales_deviation_from_the_patch_mean_within_range_and_keeps_other_draws():
    rng = np.random.default_rng(1)
    image = rng.uniform(80, 170, (16, 16, 3)).astype(np.float32)  # far from 0 and 255: no clipping
    mask = (rng.random((16, 16, 1)) < 0.3).astype(np.float32)
    dev = image - image.mean(axis=(0, 1))
    factors = []
    for s in range(40):
        seed = tf.constant([s, 2])
        img, m = augment(tf.constant(image), tf.constant(mask), seed, Augment(brightness=0.1, hue=0.02, contrast=0.4))
        base, base_m = augment(tf.constant(image), tf.constant(mask), seed, Augment(brightness=0.1, hue=0.02))
        img, base = img.numpy(), base.numpy()
        np.testing.assert_array_equal(m.numpy(), base_m.numpy())  # the mask and the flips do not move
        # the same brightness and hue as without contrast, then one factor on each channel's deviation
        bdev = base - base.mean(axis=(0, 1))
        k = float((img - img.mean(axis=(0, 1))).ravel() @ bdev.ravel() / (bdev.ravel() @ bdev.ravel()))
        np.testing.assert_allclose(img - img.mean(axis=(0, 1)), k * bdev, atol=0.05)
        np.testing.assert_allclose(img.mean(axis=(0, 1)), base.mean(axis=(0, 1)), atol=0.05)
        factors.append(k)
    assert 0.6 - 1e-3 <= min(factors) < 0.75 and 1.25 < max(factors) <= 1.4 + 1e-3  # drawn over [0.6, 1.4]
    assert np.abs(dev).max() > 0  # a patch with some contrast to scale


def test_epoch_order_depends_on_seed_and_epoch_only():
    a = epoch_orders(50, 3, 0, 4, True)
    b = epoch_orders(50, 3, 2, 4, True)
    np.testing.assert_array_equal(a[2:], b)  # resuming at epoch 2 sees the same orders
    assert not (a[0] == a[1]).all() and sorted(a[0]) == list(range(50))
    assert epoch_orders(10, 3, 0, 1, True, length=25).shape == (1, 25)


def test_dataset_is_reproducible_and_resumable(tiny_ws):
    imgs, masks = load_patch_table(tiny_ws / "train.csv", tiny_ws)
    full = [x.numpy() for x, _ in training_dataset(imgs, masks, 4, 5, 0, 2, Augment())]
    again = [x.numpy() for x, _ in training_dataset(imgs, masks, 4, 5, 1, 2, Augment())]
    per_epoch = -(-len(imgs) // 4)
    assert len(full) == 2 * per_epoch
    for a, b in zip(full[per_epoch:], again, strict=True):
        np.testing.assert_array_equal(a, b)


def test_hue_shift_does_not_depend_on_the_value_scale():
    """The paper's code applied random_hue(0.3) to 0..255 floats: a hue rotation scales with the
    values, so it shifted hue exactly as on [0, 1] (only its brightness delta was a near no-op)."""
    rgb = np.random.default_rng(0).uniform(0.05, 0.95, (8, 8, 3)).astype(np.float32)
    unit = tf.image.adjust_hue(tf.constant(rgb), 0.3).numpy()
    wide = tf.image.adjust_hue(tf.constant(rgb * 255.0), 0.3).numpy()
    np.testing.assert_allclose(wide / 255.0, unit, atol=1e-4)
    assert np.abs(unit - rgb).max() > 0.2  # and 0.3 is a large rotation (108 degrees)
    bright = tf.image.adjust_brightness(tf.constant(rgb * 255.0), 0.7).numpy()
    assert np.abs(bright / 255.0 - rgb).max() < 0.003  # brightness 0.7 on 0..255: under 0.3% of the range
