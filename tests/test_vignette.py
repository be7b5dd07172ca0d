"""The gated vignette correction: a photograph whose rim is far darker than the training photographs' is
lifted to their floor, every other one is left exactly as it is; stored with a model like the colour
gains and measured on the user's own training photographs by extract_patches.py --vignette auto."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from conftest import check_stored_prep

import extract_patches
from lesionseg.corruptions import vignette
from lesionseg.errors import PipelineError
from lesionseg.prep import PREP_FILE, Prep, prepare_image
from lesionseg.synthetic import fundus
from lesionseg.vignette import GATE, RINGS, floor_of, lift, radial_profile, shortfall


@pytest.fixture(scope="module")
def floor() -> tuple[float, ...]:
    """The floor of eight synthetic photographs of one camera, as extract_patches.py would store it."""
    return floor_of([radial_profile(fundus(600, 400, seed=s)[0]) for s in range(8)])


def _rim(photo: np.ndarray) -> float:
    """The outer ring's level over the inner median (the profile's last value)."""
    return float(radial_profile(photo).levels[-1])


def test_a_strong_vignette_is_lifted_to_the_floor_and_a_clean_photograph_is_left_alone(floor):
    """Why: a camera whose rim is much darker shows the rim's lesions at levels the network never saw;
    a photograph of the training camera must come out bit for bit as it went in, so its predictions
    (and a model trained on such photographs) do not change."""
    photo, _ = fundus(600, 400, seed=11)
    assert shortfall(radial_profile(photo).levels, floor) < GATE
    assert lift(photo, floor) is photo
    dimmed = vignette(photo, 0.7, seed=3)
    assert shortfall(radial_profile(dimmed).levels, floor) > GATE
    lifted = lift(dimmed, floor)
    assert _rim(dimmed) < 0.5 * _rim(photo)
    assert abs(_rim(lifted) - floor[-1]) < 0.08  # the rim brought up to the floor, not beyond the clean one
    assert _rim(lifted) <= _rim(photo) + 0.05
    assert shortfall(radial_profile(lifted).levels, floor) < 0.15
    # the centre, which the vignette barely touched, is barely changed
    h, w = photo.shape[:2]
    centre = (slice(h // 2 - 20, h // 2 + 20), slice(w // 2 - 20, w // 2 + 20))
    assert np.abs(lifted[centre].astype(int) - dimmed[centre]).mean() < 3


def test_a_weaker_vignette_under_the_gate_is_left_alone_and_a_photograph_without_a_field_of_view_too(floor):
    photo, _ = fundus(600, 400, seed=11)
    mild = vignette(photo, 0.1, seed=3)
    assert lift(mild, floor) is mild
    black = np.zeros((200, 300, 3), np.uint8)
    assert radial_profile(black) is None and lift(black, floor) is black


def test_the_floor_is_stored_with_a_model_validated_and_applied_first_by_the_preparation(floor):
    prep = Prep(preprocess="clahe", colour=(150.0, 70.0, 30.0), vignette=floor)
    check_stored_prep(prep, [{"vignette": floor[:-1]}, {"vignette": (0.0,) * RINGS},
                             {"vignette": floor, "vignette_gate": 0.0}], "vignette")
    assert Prep.from_dict(json.loads(json.dumps(prep.as_dict()))) == prep  # the workspace's record too
    assert "vignette" not in Prep().as_dict() and "vignette_gate" not in Prep().as_dict()
    photo, _ = fundus(600, 400, seed=11)
    dimmed = vignette(photo, 0.7, seed=3)
    plain = Prep(preprocess="clahe", colour=(150.0, 70.0, 30.0))
    # before the colour gains, which a dark rim would otherwise pull down
    np.testing.assert_array_equal(prepare_image(dimmed, prep), prepare_image(lift(dimmed, floor), plain))
    np.testing.assert_array_equal(prepare_image(photo, prep), prepare_image(photo, plain))
    assert not np.array_equal(prepare_image(dimmed, prep), prepare_image(dimmed, plain))


def test_extract_patches_measures_the_floor_on_the_training_photographs(tmp_path, tiny_ws):
    ws = tmp_path / "ws"
    shutil.copytree(tiny_ws, ws)
    extract_patches.main(["--data", str(ws), "--patch-size", "64", "--stride", "32", "--workers", "1",
                          "--vignette", "auto", "--vignette-gate", "0.6"])
    stored = Prep.read(ws / "patches" / PREP_FILE)
    assert len(stored.vignette) == RINGS and stored.vignette_gate == 0.6
    assert min(stored.vignette) > 0 and stored.vignette[-1] < stored.vignette[0]  # the synthetic camera's fall-off
    with pytest.raises(PipelineError, match="--vignette 'yes'"):
        extract_patches.main(["--data", str(ws), "--patch-size", "64", "--stride", "32", "--workers", "1",
                              "--vignette", "yes"])
