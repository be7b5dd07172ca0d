"""The gated gamma correction: a photograph whose green-to-red balance says another camera's tone curve is
bent back by the inverse curve, every other one is left exactly as it is; stored with a model like the
vignette floor and measured on the user's own training photographs by extract_patches.py --gamma auto."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import check_stored_prep, extract_copy

from lesionseg.corruptions import cast, darken, gamma
from lesionseg.errors import PipelineError
from lesionseg.prep import Prep, prepare_image
from lesionseg.synthetic import fundus
from lesionseg.tonegate import GATE, balance, estimated_gamma, reference_of, unbend


@pytest.fixture(scope="module")
def reference() -> float:
    """The reference of eight synthetic photographs of one camera, as extract_patches.py would store it."""
    return reference_of([balance(fundus(600, 400, seed=s)[0]) for s in range(8)])


def test_a_strong_gamma_is_bent_back_and_a_clean_photograph_is_left_alone(reference):
    """Why: another camera's gamma darkens the mid-tones, where the lesions' contrast is, in a way no gain per
    channel undoes; a photograph of the training camera must come out bit for bit as it went in, so its
    predictions (and a model trained on such photographs) do not change."""
    photo, _ = fundus(600, 400, seed=11)
    assert estimated_gamma(balance(photo), reference) < GATE
    assert unbend(photo, reference) is photo
    bent = gamma(photo, 2.2)
    assert estimated_gamma(balance(bent), reference) > GATE
    back = unbend(bent, reference)
    assert abs(estimated_gamma(balance(back), reference) - 1) < 0.05  # its balance brought to the reference
    lit = photo.max(axis=2) > 20
    error_before = np.abs(bent[lit].astype(int) - photo[lit]).mean()
    assert np.abs(back[lit].astype(int) - photo[lit]).mean() < 0.25 * error_before  # near the photograph itself


def test_gains_and_a_mild_gamma_pass_under_the_gate_and_a_photograph_without_a_field_of_view_too(reference):
    """A darker exposure or a cast is the colour gains' job: a gain per channel only shifts the log balance, so
    neither is mistaken for a bend."""
    photo, _ = fundus(600, 400, seed=11)
    for changed in (darken(photo, 0.4), cast(photo, 0.15, seed=1), gamma(photo, 1.2)):
        assert unbend(changed, reference) is changed
    black = np.zeros((200, 300, 3), np.uint8)
    assert balance(black) is None and unbend(black, reference) is black


def test_the_reference_is_stored_with_a_model_validated_and_applied_before_the_colour(reference):
    prep = Prep(preprocess="clahe", colour=(150.0, 70.0, 30.0), gamma_reference=reference)
    check_stored_prep(prep, [{"gamma_reference": 0.5}, {"gamma_reference": reference, "gamma_gate": 1.0}], "gamma")
    assert Prep.from_dict(json.loads(json.dumps(prep.as_dict()))) == prep  # the workspace's record too
    assert "gamma_reference" not in Prep().as_dict() and "gamma_gate" not in Prep().as_dict()
    photo, _ = fundus(600, 400, seed=11)
    bent = gamma(photo, 2.2)
    plain = Prep(preprocess="clahe", colour=(150.0, 70.0, 30.0))
    np.testing.assert_array_equal(prepare_image(bent, prep), prepare_image(unbend(bent, reference), plain))
    np.testing.assert_array_equal(prepare_image(photo, prep), prepare_image(photo, plain))
    assert not np.array_equal(prepare_image(bent, prep), prepare_image(bent, plain))


def test_extract_patches_measures_the_reference_on_the_training_photographs(tmp_path, tiny_ws):
    stored = extract_copy(tiny_ws, tmp_path / "ws", "--gamma", "auto", "--gamma-gate", "2")
    assert stored.gamma_gate == 2.0
    assert -1.5 < stored.gamma_reference < -0.3  # the synthetic camera's green well below its red
    with pytest.raises(PipelineError, match="--gamma 'on'"):
        extract_copy(tiny_ws, tmp_path / "ws2", "--gamma", "on")
