"""One region per photograph (the optic disc): lesionseg.components and the predictor that applies it
(evaluate.py storing it and infer.py applying it: tests/test_evaluate_infer.py)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lesionseg.components import LEVEL, keep_largest
from lesionseg.lesions import EIGHT
from lesionseg.predict import Inference
from lesionseg.predictor import Predictor
from lesionseg.prep import Prep


def disc_and_blob(h: int = 96, w: int = 128) -> np.ndarray:
    """A large disc of 0.8 with a faint rim of 0.3, a small blob of 0.99 apart, background 0.02."""
    yy, xx = np.mgrid[:h, :w]
    prob = np.full((h, w), 0.02, np.float32)
    r = np.hypot(yy - 48, xx - 40)
    prob[r < 24] = 0.3
    prob[r < 20] = 0.8
    prob[np.hypot(yy - 20, xx - 110) < 4] = 0.99
    return prob


def test_the_region_of_most_probability_is_kept_with_its_faint_rim():
    prob = disc_and_blob()
    kept = keep_largest(prob)
    disc = prob >= LEVEL
    disc[:, 90:] = False  # the blob is apart from the disc
    np.testing.assert_array_equal(kept[disc], prob[disc])  # disc and rim as they were
    assert not kept[~disc].any()  # the brighter but smaller blob, and the faint background, are gone
    both = keep_largest(np.stack([prob, prob[:, ::-1]], axis=-1))  # each channel on its own
    np.testing.assert_array_equal(both[..., 0], kept)
    np.testing.assert_array_equal(both[..., 1], kept[:, ::-1])
    faint = np.full((8, 8), 0.05, np.float32)
    np.testing.assert_array_equal(keep_largest(faint), faint)  # nothing reached the level: kept as it is


@dataclass
class RedIsLesion:
    """A network whose probability is the input's first channel (bright: lesion)."""

    outputs: int = 1
    multiple: int = 4

    def logits(self, batch: np.ndarray) -> np.ndarray:
        return 20 * (batch[..., :1] / 255 - 0.5)


def test_the_predictor_keeps_one_region_when_its_settings_say_so():
    from scipy import ndimage

    image = np.zeros((96, 128, 3), np.uint8)
    image[..., 0] = (disc_and_blob() * 255).astype(np.uint8)
    plain = Predictor.preparing(Prep()).with_model(RedIsLesion())
    one = Predictor.preparing(Prep(), Inference(largest_component=True)).with_model(RedIsLesion())
    assert ndimage.label(plain.predict(image)[..., 0] >= 0.5, EIGHT)[1] == 2  # the disc and the blob
    prob = one.predict(image)[..., 0]
    assert ndimage.label(prob >= 0.5, EIGHT)[1] == 1 and prob[48, 40] > 0.5 and prob[20, 110] == 0


def notched_disc(h: int = 96, w: int = 128) -> np.ndarray:
    """What a disc model marks: a bright disc of 0.9 with a hole (the cup's vessels) and a notch cut
    into its rim down to 0.3, on a background of 0.02, and a blob of 0.99 apart."""
    prob = disc_and_blob(h, w)
    yy, xx = np.mgrid[:h, :w]
    r = np.hypot(yy - 48, xx - 40)
    prob[r < 20] = 0.9
    prob[np.hypot(yy - 48, xx - 40) < 4] = 0.2  # a hole
    prob[(r < 20) & (r > 12) & (np.abs(yy - 48) < 5) & (xx > 40)] = 0.3  # a notch from the right edge
    return prob


def test_each_level_set_is_filled_to_its_convex_hull_and_no_probability_falls():
    import cv2

    from lesionseg.components import hull_levels

    prob = keep_largest(notched_disc())
    filled = hull_levels(prob)
    assert (filled >= prob).all() and filled.dtype == np.float32
    for t in (0.25, 0.5, 0.7, 0.89):
        before, after = prob >= t, filled >= t
        assert (after >= before).all()  # the mask at any threshold holds the one before
        points = cv2.findNonZero(after.astype(np.uint8))
        hull = np.zeros(after.shape, np.uint8)
        cv2.fillConvexPoly(hull, cv2.convexHull(points), 1)
        assert (hull.astype(bool) & ~after).sum() <= 0.01 * after.sum()  # convex (up to a threshold step)
    assert prob[48, 40] < 0.5 <= filled[48, 40]  # the hole filled
    assert prob[48, 56] < 0.5 <= filled[48, 56]  # and the notch
    assert not filled[:, 90:].any() and filled[5, 5] == 0  # nothing outside the kept region
    both = hull_levels(np.stack([prob, prob[::-1]], axis=-1))
    np.testing.assert_array_equal(both[..., 1], filled[::-1])
    faint = np.full((8, 8), 0.05, np.float32)
    np.testing.assert_array_equal(hull_levels(faint), faint)  # below the level: as it was


def test_the_predictor_fills_the_one_region_when_its_settings_say_so():
    from scipy import ndimage

    image = np.zeros((96, 128, 3), np.uint8)
    image[..., 0] = (notched_disc() * 255).astype(np.uint8)
    one = Predictor.preparing(Prep(), Inference(largest_component=True)).with_model(RedIsLesion())
    hull = Predictor.preparing(Prep(), Inference(convex_hull=True)).with_model(RedIsLesion())  # implies one region
    kept, filled = one.predict(image)[..., 0] >= 0.5, hull.predict(image)[..., 0] >= 0.5
    assert not kept[48, 40] and filled[48, 40] and filled[48, 56] and not filled[20, 110]
    assert ndimage.label(filled, EIGHT)[1] == 1 and (filled >= kept).all()


def test_each_level_set_gets_its_holes_filled_and_nothing_outside_its_outline():
    """Why: a disc has no holes, but the vessels that cross it leave some at a threshold; filling only what a set
    encloses adds none of the area the convex hull spanned beside a disc (RESULTS.md)."""
    from scipy import ndimage

    from lesionseg.components import hole_levels

    prob = keep_largest(notched_disc())
    filled = hole_levels(prob)
    assert (filled >= prob).all() and filled.dtype == np.float32
    for t in (0.25, 0.5, 0.7, 0.89):
        before, after = prob >= t, filled >= t
        np.testing.assert_array_equal(after, ndimage.binary_fill_holes(before))  # exactly the set's holes
    assert prob[48, 40] < 0.5 <= filled[48, 40]  # the hole filled
    assert filled[48, 56] < 0.5  # the notch is open to the outside: left as it was
    both = hole_levels(np.stack([prob, prob[::-1]], axis=-1))
    np.testing.assert_array_equal(both[..., 1], filled[::-1])
    holes = Predictor.preparing(Prep(), Inference(fill_holes=True)).with_model(RedIsLesion())  # implies one region
    image = np.zeros((96, 128, 3), np.uint8)
    image[..., 0] = (notched_disc() * 255).astype(np.uint8)
    mask = holes.predict(image)[..., 0] >= 0.5
    assert mask[48, 40] and not mask[48, 56] and not mask[20, 110] and ndimage.label(mask, EIGHT)[1] == 1
