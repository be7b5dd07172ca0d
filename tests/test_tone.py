"""The tone curve: another camera's gamma and gain undone per channel, stored with a model like the
colour gains, and measured on the user's own photographs by extract_patches.py --colour-upper auto."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from scipy import ndimage

import extract_patches
from lesionseg.corruptions import darken, gamma, temperature
from lesionseg.errors import PipelineError
from lesionseg.fov import fov_from_image
from lesionseg.prep import PREP_FILE, Prep, prepare_image
from lesionseg.synthetic import fundus
from lesionseg.tone import (
    UPPER_QUANTILE,
    channel_quantiles,
    curve_table,
    normalise_colour,
    normalise_colour_local,
    normalise_tone,
)


def _targets(photo: np.ndarray) -> tuple[tuple[float, ...], tuple[float, ...]]:
    return (tuple(float(v) for v in channel_quantiles(photo, 0.5)),
            tuple(float(v) for v in channel_quantiles(photo, UPPER_QUANTILE)))


def test_the_tone_curve_undoes_a_gamma_that_a_gain_cannot():
    photo, _ = fundus(600, 400, seed=4)
    colour, upper = _targets(photo)
    bent = gamma(photo, 2.2)
    assert np.abs(channel_quantiles(bent, 0.5) - colour).max() > 20  # the gamma moves the medians
    by_gain = normalise_colour(bent, colour)
    by_curve = normalise_tone(bent, colour, upper)
    # red and green keep enough levels to measure the bend: the curve brings their medians, upper
    # quantiles and pixels back, where a gain (at most 4x) cannot
    rg = slice(0, 2)
    assert np.abs(channel_quantiles(by_curve, 0.5)[rg] - colour[rg]).max() <= 2
    assert np.abs(channel_quantiles(by_curve, UPPER_QUANTILE)[rg] - upper[rg]).max() <= 3
    curve_error = np.abs(by_curve[..., rg].astype(int) - photo[..., rg]).mean()
    assert curve_error < 1 and curve_error < 0.2 * np.abs(by_gain[..., rg].astype(int) - photo[..., rg]).mean()
    # the gamma left blue (median 29) two to four levels: too few to measure a bend, so it gets the gain
    np.testing.assert_array_equal(by_curve[..., 2], by_gain[..., 2])


@pytest.mark.parametrize("change", [lambda x: darken(x, 0.5), lambda x: temperature(x, 0.3, 1),
                                    lambda x: gamma(darken(x, 0.7), 1.5)])
def test_the_tone_curve_still_undoes_a_gain_and_a_gain_with_a_gamma(change):
    photo, _ = fundus(600, 400, seed=4)
    colour, upper = _targets(photo)
    out = normalise_tone(change(photo), colour, upper)
    assert np.abs(out.astype(int) - photo).mean() < 4


def test_a_channel_too_flat_to_measure_a_bend_gets_a_gain_and_extreme_bends_are_capped():
    """Why: IDRiD's blue holds a few levels in many photographs; a curve fitted through two points
    a level apart would be noise."""
    levels = np.arange(256)
    flat = curve_table(median=4.0, upper=6.0, to_median=12.0, to_upper=40.0)
    np.testing.assert_array_equal(flat, np.clip(levels * 3.0, 0, 255).round())  # the gain 12 / 4
    steep = curve_table(median=100.0, upper=110.0, to_median=100.0, to_upper=250.0)  # exponent 9.6 asked
    assert steep[110] == round(100 * 1.1**3)  # held to 3
    assert np.all(np.diff(steep.astype(int)) >= 0)  # a rising curve: the order of the levels is kept


def test_the_tone_curve_is_stored_with_a_model_validated_and_applied_by_the_preparation():
    photo, _ = fundus(600, 400, seed=4)
    colour, upper = _targets(photo)
    prep = Prep(preprocess="clahe", colour=colour, colour_upper=upper)
    assert Prep.from_dict(json.loads(json.dumps(prep.as_dict()))) == prep
    assert Prep.from_dict({"colour": "163,81,13", "colour_upper": "210,120,30"}).colour_upper == (210.0, 120.0, 30.0)
    assert "colour_upper" not in Prep(colour=colour).as_dict() and "colour_quantile" not in prep.as_dict()
    for bad in ({"colour_upper": upper}, {"colour": colour, "colour_upper": upper[:2]},
                {"colour": colour, "colour_upper": colour},
                {"colour": colour, "colour_upper": upper, "colour_spread": 1.5},
                {"colour": colour, "colour_upper": upper, "colour_quantile": 0.4}):
        with pytest.raises(PipelineError, match="colour upper"):
            Prep(**bad)
    bent = gamma(photo, 2.2)
    np.testing.assert_array_equal(prepare_image(bent, prep),
                                  prepare_image(normalise_tone(bent, colour, upper), Prep(preprocess="clahe")))


def test_extract_patches_measures_the_upper_levels_on_the_training_photographs(tmp_path, tiny_ws):
    from lesionseg.imageio import read_rgb, resolve

    ws = tmp_path / "ws"
    shutil.copytree(tiny_ws, ws)
    common = ["--data", str(ws), "--patch-size", "64", "--stride", "32", "--workers", "1"]
    extract_patches.main([*common, "--colour", "auto", "--colour-upper", "auto"])
    manifest = pd.read_csv(ws / "manifest.csv")
    held_out = set(pd.read_csv(ws / "test.csv").image)  # drawn by traintest_split.py: not measured on
    photos = [read_rgb(resolve(p, ws)) for p in manifest.image if p not in held_out]
    assert held_out and len(photos) == len(manifest) - len(held_out)
    want = tuple(round(float(v), 1) for v in np.median([channel_quantiles(p, UPPER_QUANTILE) for p in photos], axis=0))
    stored = Prep.read(ws / "patches" / PREP_FILE)
    assert stored.colour_upper == want and stored.colour
    with pytest.raises(PipelineError, match="--colour-upper"):
        extract_patches.main([*common, "--colour", "auto", "--colour-upper", "200,100"])
    with pytest.raises(PipelineError, match="colour upper"):  # a curve needs the medians too
        extract_patches.main([*common, "--colour-upper", "auto"])


def test_a_bend_near_one_keeps_the_curve_close_to_a_gain_and_is_stored_with_the_model():
    """Why: one camera's own photographs need exponents of 0.4 to 1.2 to meet the stored points, so a
    full curve also flattens each photograph's contrast; `colour_bend` limits how far it goes."""
    asked = curve_table(median=100.0, upper=150.0, to_median=100.0, to_upper=200.0)  # exponent 1.71 asked
    held = curve_table(median=100.0, upper=150.0, to_median=100.0, to_upper=200.0, bend=1.25)
    assert asked[150] == 200 and held[150] == round(100 * 1.5**1.25)
    assert np.array_equal(curve_table(100.0, 150.0, 100.0, 200.0, bend=1.0), np.clip(np.arange(256), 0, 255))
    photo, _ = fundus(600, 400, seed=4)
    colour, upper = _targets(photo)
    bent = gamma(photo, 1.5)
    full, near = normalise_tone(bent, colour, upper), normalise_tone(bent, colour, upper, bend=1.25)
    err = [np.abs(x[..., :2].astype(int) - photo[..., :2]).mean() for x in (full, near, normalise_colour(bent, colour))]
    assert err[0] < err[1] < err[2]  # part of the gamma undone: between the full curve and a gain
    prep = Prep(colour=colour, colour_upper=upper, colour_bend=1.25)
    assert Prep.from_dict(json.loads(json.dumps(prep.as_dict()))) == prep and "colour_bend" not in Prep().as_dict()
    for bad in ({"colour": colour, "colour_bend": 1.25}, {"colour": colour, "colour_upper": upper, "colour_bend": 0.8}):
        with pytest.raises(PipelineError, match="colour (bend|upper)"):
            Prep(**bad)


def _rim_over_centre(photo: np.ndarray, lesions: np.ndarray) -> float:
    """The green channel's median near the rim of the field of view over its median at the centre."""
    lit = fov_from_image(photo)
    height, width = lit.shape
    yy, xx = np.mgrid[:height, :width]
    r = np.hypot(yy - height / 2, xx - width / 2)
    edge = r[lit].max()
    green = photo[..., 1].astype(float)
    return float(np.median(green[lit & (r > 0.8 * edge) & ~lesions]) / np.median(green[lit & (r < 0.3 * edge)]))


def test_local_gains_undo_a_vignette_that_one_gain_per_channel_keeps():
    """Why: a camera whose light falls off towards the rim gives the rim's exudates another level than
    the training photographs'; one gain per channel brightens centre and rim alike."""
    from lesionseg.corruptions import vignette

    photo, lesions = fundus(1200, 800, seed=4)
    colour = tuple(float(v) for v in channel_quantiles(photo, 0.5))
    dimmed = vignette(photo, 0.7, seed=1)
    assert _rim_over_centre(dimmed, lesions) < 0.5 * _rim_over_centre(photo, lesions)
    by_gain = normalise_colour(dimmed, colour)
    local, local_clean = normalise_colour_local(dimmed, colour, 0.25), normalise_colour_local(photo, colour, 0.25)
    assert _rim_over_centre(by_gain, lesions) < 0.5 * _rim_over_centre(photo, lesions)
    assert abs(_rim_over_centre(local, lesions) - _rim_over_centre(local_clean, lesions)) < 0.05
    assert abs(_rim_over_centre(local_clean, lesions) - 1) < 0.05  # the synthetic camera's own fall-off too
    # the exudates, far narrower than the window, keep their contrast with the retina around them
    ring = ndimage.binary_dilation(lesions, iterations=12) & ~ndimage.binary_dilation(lesions, iterations=4)

    def contrast(x: np.ndarray) -> float:
        return float(x[..., 1][lesions].mean() / x[..., 1][ring].mean())

    assert abs(contrast(local) - contrast(photo)) < 0.1 * contrast(photo)
    # a darker camera too: the level comes from the one gain per channel and the shape of the light from the
    # local part, each capped apart, so a photograph that needs more than 4x at its rim is not flattened
    # only where it needs less
    lit = fov_from_image(photo)
    dark = normalise_colour_local(darken(photo, 0.25), colour, 0.25)
    assert np.abs(dark.astype(int) - local_clean)[lit].mean(axis=0).max() < 3


def test_local_gains_are_stored_with_a_model_validated_and_applied_by_the_preparation(tmp_path, tiny_ws):
    photo, _ = fundus(600, 400, seed=4)
    colour = tuple(float(v) for v in channel_quantiles(photo, 0.5))
    prep = Prep(preprocess="clahe", colour=colour, colour_local=0.25)
    assert Prep.from_dict(json.loads(json.dumps(prep.as_dict()))) == prep and "colour_local" not in Prep().as_dict()
    for bad in ({"colour_local": 0.25}, {"colour": colour, "colour_local": 1.5},
                {"colour": colour, "colour_local": 0.25, "colour_spread": 1.5}):
        with pytest.raises(PipelineError, match="colour local"):
            Prep(**bad)
    np.testing.assert_array_equal(prepare_image(photo, prep), prepare_image(
        normalise_colour_local(photo, colour, 0.25), Prep(preprocess="clahe")))
    assert not np.array_equal(prepare_image(photo, prep), prepare_image(photo, Prep(preprocess="clahe", colour=colour)))
    ws = tmp_path / "ws"
    shutil.copytree(tiny_ws, ws)
    extract_patches.main(["--data", str(ws), "--patch-size", "64", "--stride", "32", "--workers", "1",
                          "--colour", "auto", "--colour-local", "0.25"])
    stored = Prep.read(ws / "patches" / PREP_FILE)
    assert stored.colour_local == 0.25 and stored.colour
