"""Test-time scales: the working-scale input resampled by each factor, predicted, and the
probabilities put back in place and averaged; stored with the threshold by evaluate.py and applied
by infer.py (that path: tests/test_evaluate_infer.py)."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass

import numpy as np
import pytest
from scipy import ndimage

from lesionseg.bundle import Bundle
from lesionseg.card import card
from lesionseg.predict import Inference, parse_scales
from lesionseg.predictor import Predictor
from lesionseg.prep import Prep


@dataclass
class FindsWideBright:
    """A network that marks bright red only where a 5 x 5 square of it fits: a lesion smaller than
    that is found only when the input is enlarged."""

    outputs: int = 1
    multiple: int = 4

    def logits(self, batch: np.ndarray) -> np.ndarray:
        eroded = ndimage.minimum_filter(batch[..., 0].astype(np.float32), size=(1, 5, 5))
        return (20 * (eroded / 255 - 0.5))[..., None]


def small_square(h: int = 60, w: int = 84) -> np.ndarray:
    """A 4 x 4 bright square off the centre of a non-square photograph (a swapped axis shows)."""
    image = np.zeros((h, w, 3), np.uint8)
    image[20:24, 50:54, 0] = 255
    return image


def test_an_enlarged_view_finds_a_lesion_too_small_at_the_working_scale_and_puts_it_in_place():
    image = small_square()
    plain = Predictor.preparing(Prep()).with_model(FindsWideBright()).predict(image)[..., 0]
    assert plain.max() < 0.01  # too small for the network at its own size
    both = Predictor.preparing(Prep(), Inference(tta_scales=(1.0, 2.0))).with_model(FindsWideBright())
    prob = both.predict(image)[..., 0]
    assert prob.shape == image.shape[:2]
    # found at twice the size, averaged with the plain view's nothing: about one half, where the square is
    assert 0.35 < prob[21:23, 51:53].min() and prob.max() < 0.55
    ys, xs = np.nonzero(prob > 0.1)
    assert 19 <= ys.min() and ys.max() <= 24 and 49 <= xs.min() and xs.max() <= 54
    # the flips and the scales together: a square is its own mirror image, so the same map
    flipped = Predictor.preparing(Prep(), Inference(tta=True, tta_scales=(1.0, 2.0))).with_model(FindsWideBright())
    np.testing.assert_allclose(flipped.predict(image)[..., 0], prob, atol=1e-6)
    assert both.inference.passes == 5 and flipped.inference.passes == 20


def test_the_scales_are_stored_with_the_model_and_described_on_its_card(tmp_path):
    bundle = Bundle.for_prep(Prep(), single="EX")
    chosen = bundle.with_thresholds([0.4], "max_dice", "validation images (9)",
                                    Inference(tta=True, tta_scales=(1.0, 1.25)))
    chosen.write(tmp_path)
    assert json.loads((tmp_path / "bundle.json").read_text())["inference"]["tta_scales"] == [1.0, 1.25]
    read = Bundle.read(tmp_path)
    assert read == chosen and read.inference.tta_scales == (1.0, 1.25)
    assert "resampled by 1, 1.25 and averaged" in card("ex", read)
    assert "and averaged" not in card("ex", bundle)


@pytest.mark.parametrize("text", ["0,1", "1,1", "a", "", "-1"])
def test_a_bad_list_of_scales_is_refused_by_the_flag(text):
    with pytest.raises(argparse.ArgumentTypeError, match="distinct positive factors"):
        parse_scales(text)
    assert parse_scales("1,1.25") == (1.0, 1.25) and parse_scales("1") == (1.0,)
