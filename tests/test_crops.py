import numpy as np
import pytest

from lesionseg.crops import ImageBank, crop_dataset, crop_plan
from lesionseg.pipeline import Augment


def bank(n: int = 3, size: int = 96) -> ImageBank:
    rng = np.random.default_rng(0)
    images, masks, fovs = [], [], []
    yy, xx = np.mgrid[0:size, 0:size]
    for i in range(n):
        images.append(rng.integers(0, 255, (size, size + 16 * i, 3)).astype(np.uint8))
        m = np.zeros((size, size + 16 * i), np.uint8)
        m[10 + 20 * i : 14 + 20 * i, 70:74] = 1  # one small lesion per image
        masks.append(m)
        f = np.zeros_like(m, bool)
        f[:, : size // 2] = True  # the field of view is the left half
        fovs.append(f)
    lesion = [np.column_stack([np.full(len(ys), i), ys, xs]) for i, m in enumerate(masks) for ys, xs in [np.nonzero(m)]]
    return ImageBank(images, masks, fovs, np.concatenate(lesion).astype(np.int32))


def test_crop_plan_is_a_function_of_seed_and_epoch():
    b = bank()
    a0, a1 = crop_plan(b, 32, 50, 7, 0, 0.5), crop_plan(b, 32, 50, 7, 1, 0.5)
    np.testing.assert_array_equal(a0, crop_plan(b, 32, 50, 7, 0, 0.5))
    assert not np.array_equal(a0, a1) and not np.array_equal(a0, crop_plan(b, 32, 50, 8, 0, 0.5))
    for i, y, x in a0:  # every window lies inside its image
        h, w = b.masks[i].shape
        assert 0 <= y <= h - 32 and 0 <= x <= w - 32


def test_lesion_share_controls_what_the_crops_hold():
    b = bank()
    size = 32
    on_lesion = crop_plan(b, size, 200, 1, 0, 1.0)
    assert all(b.masks[i][y : y + size, x : x + size].any() for i, y, x in on_lesion)
    uniform = crop_plan(b, size, 400, 1, 0, 0.0)
    centres_x = uniform[:, 2] + size // 2
    # centres drawn inside the field of view (left half), pushed inwards only by the image border
    assert (centres_x <= 48).all()
    assert np.mean([b.masks[i][y : y + size, x : x + size].any() for i, y, x in uniform]) < 0.2


def test_crop_dataset_resumes_where_it_stopped_and_keeps_pairs_aligned():
    b = bank()
    b.images = [np.repeat((m * 255)[..., None], 3, axis=2).astype(np.uint8) for m in b.masks]  # image = mask
    full = list(crop_dataset(b, 32, 4, 3, 0, 3, 8, 0.7, Augment(True, 0.0, 0.0)))
    later = list(crop_dataset(b, 32, 4, 3, 2, 3, 8, 0.7, Augment(True, 0.0, 0.0)))
    assert len(full) == 6 and len(later) == 2
    for (xa, ya), (xb, yb) in zip(full[4:], later, strict=True):
        np.testing.assert_array_equal(xa.numpy(), xb.numpy())
        np.testing.assert_array_equal(ya.numpy(), yb.numpy())
    for x, y in full:  # flips applied to image and mask alike
        np.testing.assert_array_equal(x.numpy()[..., :1] > 127, y.numpy() > 0.5)


@pytest.mark.parametrize("share", [0.0, 1.0])
def test_images_without_lesions_still_give_crops(share):
    b = bank()
    empty = ImageBank(b.images, [np.zeros_like(m) for m in b.masks], b.fovs, np.zeros((0, 3), np.int32))
    plan = crop_plan(empty, 32, 20, 0, 0, share)
    assert plan.shape == (20, 3)


def test_lesion_centres_show_small_lesions_as_often_as_a_huge_one():
    from lesionseg.crops import group_by_lesion

    size = 200
    m = np.zeros((size, size), np.uint8)
    m[0:100, 0:100] = 1  # one huge lesion: 10,000 pixels
    small = [(150, 20), (150, 60), (150, 100), (150, 140), (190, 190)]
    for y, x in small:
        m[y : y + 3, x : x + 3] = 1  # five small ones: 45 pixels in all
    ys, xs = np.nonzero(m)
    pixels = np.column_stack([np.zeros(len(ys)), ys, xs]).astype(np.int32)
    order, starts, kinds = group_by_lesion([m])
    assert list(kinds) == [0, 6]
    assert len(starts) == 7 and sorted(np.diff(starts)) == [9, 9, 9, 9, 9, 10000]
    b = ImageBank([np.zeros((size, size, 3), np.uint8)], [m], [np.ones((size, size), bool)], pixels, 1, order, starts)
    crop = 32

    def huge_share(centre: str) -> float:
        plan = crop_plan(b, crop, 600, 3, 0, 1.0, centre)
        return float(np.mean([y + crop // 2 < 110 and x + crop // 2 < 110 for _, y, x in plan]))

    assert huge_share("pixel") > 0.95  # pixel-drawn centres almost always land on the huge lesion
    assert 0.08 < huge_share("lesion") < 0.3  # one lesion in six
    with pytest.raises(ValueError, match="centre"):
        crop_plan(b, crop, 5, 3, 0, 1.0, "middle")


def test_with_two_kinds_lesion_centres_draw_each_kind_equally_often():
    from lesionseg.crops import group_by_lesion
    from lesionseg.multi import pack

    size = 120
    a = np.zeros((size, size), bool)
    for j in range(12):  # kind 0: twelve small lesions in the top rows
        a[4 : 7, 4 + 9 * j : 7 + 9 * j] = True
    b = np.zeros((size, size), bool)
    b[80:90, 80:90] = True  # kind 1: one lesion, bottom right
    a[85, 85] = True  # a pixel of both kinds
    m = pack([a, b])
    ys, xs = np.nonzero(m)
    pixels = np.column_stack([np.zeros(len(ys)), ys, xs]).astype(np.int32)
    order, starts, kinds = group_by_lesion([m], 2)
    assert list(kinds) == [0, 13, 14]  # twelve + the shared pixel's own component, then one
    both = int(np.flatnonzero((ys == 85) & (xs == 85))[0])
    groups = [set(order[starts[c] : starts[c + 1]].tolist()) for c in range(len(starts) - 1)]
    assert sum(both in g for g in groups) == 2 and groups[-1] == set(np.flatnonzero(b[ys, xs]).tolist())
    bank = ImageBank([np.zeros((size, size, 3), np.uint8)], [m], [np.ones((size, size), bool)], pixels, 2, order,
                     starts, kinds)
    plan = crop_plan(bank, 16, 800, 5, 0, 1.0, "lesion")
    share = float(np.mean([y + 8 > 60 for _, y, _ in plan]))  # crops around the kind-1 lesion
    assert 0.42 < share < 0.58  # one kind in two, although it is one lesion of fourteen


def _one_big_and_twenty_dots() -> tuple[ImageBank, int]:
    """A 20 x 20 lesion (area 400, root 20) top left and twenty one-pixel dots (root 1 each) along the
    bottom row: square-root weights give the big one half the draws, uniform ones 1 in 21."""
    from lesionseg.crops import group_by_lesion

    size = 160
    m = np.zeros((size, size), np.uint8)
    m[10:30, 10:30] = 1
    m[150, 4 : 4 + 7 * 20 : 7] = 1
    ys, xs = np.nonzero(m)
    pixels = np.column_stack([np.zeros(len(ys)), ys, xs]).astype(np.int32)
    order, starts, kinds = group_by_lesion([m])
    assert sorted(np.diff(starts)) == [1] * 20 + [400]
    return ImageBank([np.zeros((size, size, 3), np.uint8)], [m], [np.ones((size, size), bool)], pixels, 1, order,
                     starts, kinds), size


@pytest.mark.parametrize(("centre", "low", "high"), [("pixel", 0.9, 1.0), ("lesion", 0.01, 0.12),
                                                      ("sqrt-area", 0.4, 0.6)])
def test_sqrt_area_centres_sit_between_pixel_and_lesion_draws(centre, low, high):
    b, _ = _one_big_and_twenty_dots()
    crop = 32
    plan = crop_plan(b, crop, 1000, 11, 0, 1.0, centre)
    big = float(np.mean([y + crop // 2 < 80 for _, y, _ in plan]))  # crops around the big lesion
    assert low < big < high
    again = crop_plan(b, crop, 1000, 11, 0, 1.0, centre)
    assert np.array_equal(plan, again)  # a function of (seed, epoch)


def test_sqrt_area_centres_with_two_kinds_draw_the_kind_first():
    from lesionseg.crops import group_by_lesion
    from lesionseg.multi import pack

    b1, size = _one_big_and_twenty_dots()
    other = np.zeros((size, size), bool)
    other[10:14, 140:144] = True  # kind 1: one small lesion, top right
    m = pack([b1.masks[0].astype(bool), other])
    ys, xs = np.nonzero(m)
    pixels = np.column_stack([np.zeros(len(ys)), ys, xs]).astype(np.int32)
    order, starts, kinds = group_by_lesion([m], 2)
    bank = ImageBank([np.zeros((size, size, 3), np.uint8)], [m], [np.ones((size, size), bool)], pixels, 2, order,
                     starts, kinds)
    plan = crop_plan(bank, 32, 2000, 4, 0, 1.0, "sqrt-area")
    top = [(y + 16 < 80, x + 16 > 110) for _, y, x in plan]
    kind1 = np.mean([t and r for t, r in top])
    big = np.mean([t and not r for t, r in top])
    assert 0.42 < kind1 < 0.58  # one kind in two
    assert 0.18 < big < 0.32  # then, within kind 0, the big lesion half the time


@pytest.mark.parametrize(("centre", "says"), [("sqrt-area", "lesions in proportion to the square root of its area"),
                                              ("lesion", "lesions equally often")])
def test_train_says_which_lesion_draw_its_crops_use(tiny_ws, tmp_path, capsys, centre, says):
    from conftest import RECIPE, TINY

    import train

    assert train.main(["--data", str(tiny_ws), "--checkpoints", str(tmp_path / "ck"), *TINY, *RECIPE, "--epochs", "1",
                       "--val-aupr-every", "0", "--lesion-crop-centre", centre]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("crops:"))
    assert says in line and "each of " in line
