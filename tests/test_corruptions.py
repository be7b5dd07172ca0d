"""Each corruption of another camera does what it says, the same way for the same seed, and keeps
the photograph's size and type."""

import numpy as np
import pytest

from lesionseg.corruptions import CORRUPTIONS, corrupt
from lesionseg.synthetic import fundus

PHOTO, _ = fundus(2144, 1424, seed=5)  # half an IDRiD photograph: the blur and resolution widths matter
DISC = PHOTO.max(axis=2) > 20


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_every_corruption_is_a_seeded_function_of_the_photograph(name):
    for strength in CORRUPTIONS[name][1]:
        out = corrupt(PHOTO, name, strength, seed=3)
        assert out.shape == PHOTO.shape and out.dtype == np.uint8
        assert not np.array_equal(out, PHOTO)  # it changes the photograph
        np.testing.assert_array_equal(out, corrupt(PHOTO, name, strength, seed=3))  # the same seed, the same
    weak, strong = (corrupt(PHOTO, name, s, seed=3) for s in CORRUPTIONS[name][1])
    change = [np.abs(x.astype(int) - PHOTO).mean() for x in (weak, strong)]
    assert change[1] > change[0]  # the second strength is the stronger


def test_light_and_colour_change_as_named():
    green = PHOTO[..., 1][DISC].mean()
    assert corrupt(PHOTO, "darken", 0.5)[..., 1][DISC].mean() == pytest.approx(green / 2, rel=0.02)
    dark = corrupt(PHOTO, "gamma", 2.0)
    assert dark[DISC].mean() < PHOTO[DISC].mean() and dark.max() == PHOTO.max()  # mid-tones darker, white kept
    signs = set()
    for seed in range(8):
        shifted = corrupt(PHOTO, "temperature", 0.3, seed).astype(float)
        ratio = shifted[..., 0][DISC].mean() / PHOTO[..., 0][DISC].mean()
        signs.add(ratio > 1)
        assert shifted[..., 1][DISC].mean() == pytest.approx(PHOTO[..., 1][DISC].mean(), abs=0.5)  # green kept
    assert signs == {True, False}  # warmer for some seeds, cooler for others
    v = corrupt(PHOTO, "vignette", 0.7).astype(float) / np.maximum(PHOTO, 1)
    mid, edge = (slice(702, 722), slice(1062, 1082)), (slice(702, 722), slice(330, 350))
    centre, rim = v[mid][DISC[mid]].mean(), v[edge][DISC[edge]].mean()
    assert centre > 0.95 and rim < 0.6


def test_focus_compression_and_resolution_remove_detail():
    def detail(x):
        return np.abs(np.diff(x[..., 1].astype(float), axis=1))[DISC[:, 1:]].mean()

    for name in ("blur", "low_resolution"):
        assert detail(corrupt(PHOTO, name, CORRUPTIONS[name][1][1])) < 0.8 * detail(PHOTO), name
    q10 = corrupt(PHOTO, "jpeg", 10)
    assert 1 < np.abs(q10.astype(int) - PHOTO).mean() < 20
