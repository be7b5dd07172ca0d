"""One file describes a model folder (bundle.json), read and written by one class; folders in the
earlier format (prep.json + threshold.json) are read and upgraded."""

import json

import numpy as np
import pytest

from lesionseg import prep as prep_mod
from lesionseg.bundle import Bundle, Threshold
from lesionseg.errors import PipelineError
from lesionseg.predict import Inference
from lesionseg.prep import Prep


def test_round_trip_keeps_every_setting(tmp_path):
    bundle = Bundle(("EX", "HE"), Prep(0.5, 0.5, "clahe", ("EX", "HE"), "fov", 1706.0), Inference(tta=True),
                    {"EX": Threshold(0.4, "max_dice", "validation images (9)"),
                     "HE": Threshold(0.6, "max_dice", "validation images (9)")},
                    {"command": "train.py --data d", "training_minutes": 112.5})
    bundle.write(tmp_path)
    assert Bundle.read(tmp_path) == bundle
    stored = json.loads((tmp_path / "bundle.json").read_text())
    assert stored["lesions"] == ["EX", "HE"] and "lesions" not in stored["prep"] and stored["prep"]["clahe_clip"] == 2.0
    assert stored["thresholds"]["HE"] == {"value": 0.6, "rule": "max_dice", "chosen_on": "validation images (9)"}


def test_one_lesion_is_a_tuple_of_one_and_the_workspace_record_stays_as_it_was(tmp_path):
    bundle = Bundle.for_prep(Prep(0.5, 0.5, "clahe"), single="EX")
    assert bundle.lesions == ("EX",) and bundle.prep.lesions == () and bundle.threshold_values() == [0.5]
    bundle.write(tmp_path)
    assert Bundle.read(tmp_path).lesions == ("EX",)
    with pytest.raises(PipelineError, match="at least one lesion"):
        Bundle((), Prep())
    with pytest.raises(PipelineError, match="thresholds for MA, which the model does not predict"):
        Bundle(("EX",), Prep(), thresholds={"MA": Threshold(0.5, "fixed", "x")})


def test_the_stored_parameters_prepare_the_photograph_not_the_current_defaults(tmp_path):
    yy, xx = np.mgrid[0:128, 0:128]
    photo = np.stack([90 + (xx + yy) // 16, 40 + xx // 32, 20 + 0 * xx], axis=2).astype(np.uint8)  # dull, smooth
    made_elsewhere = Prep(preprocess="clahe", clahe_clip=4.0, clahe_tiles=4)  # e.g. by a version with other defaults
    Bundle.for_prep(made_elsewhere).write(tmp_path)
    stored = Bundle.read(tmp_path).prep
    assert (stored.clahe_clip, stored.clahe_tiles) == (4.0, 4)
    prepared = prep_mod.prepare_image(photo, stored)
    np.testing.assert_array_equal(prepared, prep_mod.clahe(photo, 4.0, 4))
    assert not np.array_equal(prepared, prep_mod.clahe(photo))  # the defaults would prepare it otherwise


def test_an_earlier_folder_is_read_and_upgraded(tmp_path):
    Prep(0.5, 0.5, "clahe").write(tmp_path / "prep.json")
    (tmp_path / "threshold.json").write_text(json.dumps({
        "chosen_on": "validation images (9)", "rule": "max_dice", "threshold": 0.637, "mode": "fast",
        "inference": {"mode": "fast", "tta": True, "tile": 4352, "margin": 128}, "prep": {"scale": 0.5}}))
    bundle = Bundle.read(tmp_path)
    assert bundle.prep == Prep(0.5, 0.5, "clahe") and bundle.inference == Inference(tta=True)
    assert bundle.thresholds == {"lesion": Threshold(0.637, "max_dice", "validation images (9)")}
    several = tmp_path / "several"
    several.mkdir()
    Prep(lesions=("EX", "HE")).write(several / "prep.json")
    (several / "threshold.json").write_text(json.dumps({"thresholds": {"EX": 0.4, "HE": 0.6}}))
    assert Bundle.read(several).threshold_values() == [0.4, 0.6]
    (several / "threshold.json").write_text(json.dumps({"thresholds": {"EX": 0.4, "MA": 0.6}}))
    with pytest.raises(PipelineError, match="lesions EX, MA but the model predicts EX, HE"):
        Bundle.read(several)
    assert Bundle.read(tmp_path / "never_trained") == Bundle.for_prep(Prep())  # the paper's defaults
