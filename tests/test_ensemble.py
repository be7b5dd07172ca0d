"""Ensembles: two trained models as one model folder, their probabilities averaged, behind the one
Predictor that evaluate.py, infer.py and ship use; members that do not belong together are refused."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from conftest import train_tiny

import evaluate
import infer
from lesionseg import ship
from lesionseg.bundle import Bundle
from lesionseg.engines import sigmoid
from lesionseg.ensemble import MeanNetwork, assemble
from lesionseg.errors import PipelineError
from lesionseg.imageio import read_rgb, resolve
from lesionseg.predictor import Predictor

EVAL = ["--patch-size", "64", "--stride", "32", "--overlays", "0"]


@pytest.fixture(scope="module")
def pair(tiny_ws, tmp_path_factory):
    root = tmp_path_factory.mktemp("pair")
    return [train_tiny(tiny_ws, root / f"seed{s}", "--epochs", "1", "--steps-per-epoch", "4", "--seed", str(s))
            for s in (1, 2)]


@pytest.fixture
def photo(tiny_ws):
    return read_rgb(resolve(pd.read_csv(tiny_ws / "test.csv").image[0], tiny_ws))


class Fixed:
    def __init__(self, logits: np.ndarray, multiple: int = 8):
        self.value, self.outputs, self.multiple = logits, logits.shape[-1], multiple

    def logits(self, batch: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.value, (*batch.shape[:3], self.outputs)).astype(np.float32)


def test_the_mean_network_averages_probabilities_not_logits():
    a, b = np.array([4.0, -2.0], np.float32), np.array([-4.0, 0.0], np.float32)
    mean = MeanNetwork([Fixed(a), Fixed(b, 32)])
    got = sigmoid(mean.logits(np.zeros((1, 2, 2, 3), np.float32)))[0, 0, 0]
    np.testing.assert_allclose(got, (sigmoid(a) + sigmoid(b)) / 2, atol=1e-6)  # 0.5 and 0.25; logits' mean: 0.27
    assert mean.multiple == 32 and mean.outputs == 2
    assert [x.shape for x in mean.logits_each([np.zeros((2, 4, 4, 3))] * 3)] == [(2, 4, 4, 2)] * 3
    with pytest.raises(PipelineError, match="one number of outputs"):
        MeanNetwork([Fixed(a), Fixed(a[:1])])


def test_an_ensemble_predicts_the_mean_of_its_members_and_is_evaluated_like_a_model(pair, tiny_ws, photo, tmp_path):
    ens = tmp_path / "ens"
    assemble(pair, ens)
    assert not (ens / "model.keras").exists() and (ens / "members" / "1" / "model.keras").is_file()
    both = [Predictor.load(p, engine="tensorflow").predict(photo) for p in pair]
    assert np.abs(both[0] - both[1]).max() > 0.01  # two seeds: two different models
    mine = Predictor.load(ens, thresholds_optional=True, engine="tensorflow").predict(photo)
    np.testing.assert_allclose(mine, (both[0] + both[1]) / 2, atol=1e-5)
    evaluate.main(["--data", str(tiny_ws), "--checkpoints", str(ens), "--results", str(tmp_path / "res"), *EVAL])
    stored = Bundle.read(ens)
    assert stored.evaluated and stored.members == ("members/0", "members/1")
    m = json.loads((tmp_path / "res" / "metrics.json").read_text())
    assert stored.thresholds["lesion"].value == pytest.approx(m["threshold"])
    out, photos = tmp_path / "out", tiny_ws.parent / "raw" / "images"
    assert infer.main(["--checkpoints", str(ens), "--out", str(out), "--engine", "tensorflow", str(photos)]) == 0
    assert len(pd.read_csv(out / "areas.csv")) == len(list(photos.iterdir()))


def test_an_ensemble_ships_with_its_members_and_its_card_says_so(pair, tiny_ws, tmp_path):
    ens = tmp_path / "run" / "checkpoints"
    assemble(pair, ens)
    evaluate.main(["--data", str(tiny_ws), "--checkpoints", str(ens), "--results", str(tmp_path / "run" / "results"),
                   *EVAL])
    models = tmp_path / "models"
    assert ship.main(["--run", str(tmp_path / "run"), "--name", "pair", "--models", str(models),
                      "--structure", "EX"]) == 0
    shipped = Bundle.read(models / "pair")
    assert shipped.lesions == ("EX",) and shipped.evaluated and len(shipped.members) == 2
    for member in shipped.members:
        assert Bundle.read(models / "pair" / member).lesions == ("EX",)  # named like the ensemble
    card = (models / "pair" / "MODEL_CARD.md").read_text()
    assert "an ensemble of 2 models" in card and card.count("train.py") >= 2
    assert Predictor.load(models / "pair", engine="tensorflow").lesions == ("EX",)


def test_members_that_do_not_belong_together_are_refused(pair, tmp_path):
    with pytest.raises(PipelineError, match="at least two"):
        assemble(pair[:1], tmp_path / "one")
    other = tmp_path / "other"
    shutil.copytree(pair[1], other)
    b = Bundle.read(other)
    replace(b, prep=replace(b.prep, preprocess="clahe")).write(other)
    with pytest.raises(PipelineError, match=f"{other}: its preparation differs"):
        assemble([pair[0], other], tmp_path / "mixed")
    split = b.provenance["split"]
    replace(b, provenance=b.provenance | {"split": split | {"train": split["train"][1:]}}).write(other)
    with pytest.raises(PipelineError, match="its training split differs"):
        assemble([pair[0], other], tmp_path / "mixed")
    assert not (tmp_path / "mixed").exists()  # nothing half-written
    assemble(pair, tmp_path / "ens")
    with pytest.raises(PipelineError, match="already exists"):
        assemble(pair, tmp_path / "ens")
    with pytest.raises(PipelineError, match="already an ensemble"):
        assemble([tmp_path / "ens", pair[0]], tmp_path / "nested")
    shutil.rmtree(tmp_path / "ens" / "members" / "1")
    with pytest.raises(PipelineError, match="members/1: a member of the ensemble .* is missing"):
        Predictor.load(tmp_path / "ens", thresholds_optional=True)


def test_a_new_run_joins_a_shipped_model_of_the_same_structure(pair, tmp_path):
    """Why: shipping names a model's one output (EX), where a training run's stays unnamed; averaging a
    new seed with the shipped model was refused as "lesions differ" although the outputs are the same."""
    shipped = tmp_path / "shipped"
    shutil.copytree(pair[0], shipped)
    Bundle.read(shipped, thresholds_optional=True).named("EX").write(shipped)
    ens = assemble([shipped, pair[1]], tmp_path / "ens")
    assert ens.lesions == ("EX",) and Bundle.read(tmp_path / "ens" / "members" / "1").lesions == ("EX",)
    other = tmp_path / "other"
    shutil.copytree(pair[1], other)
    Bundle.read(other, thresholds_optional=True).named("HE").write(other)
    with pytest.raises(PipelineError, match="its lesions differs"):
        assemble([shipped, other], tmp_path / "mixed")


def test_the_export_of_an_ensemble_is_one_per_member_and_predicts_the_same(pair, photo, tmp_path):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("tf2onnx")
    from lesionseg import export

    ens = tmp_path / "ens"
    assemble(pair, ens)
    assert export.main([str(ens)]) == 0
    assert all((ens / m / "model.onnx").is_file() for m in Bundle.read(ens, True).members)
    fast = Predictor.load(ens, thresholds_optional=True, engine="onnxruntime")
    assert fast.engine == "onnxruntime"
    keras_probs = Predictor.load(ens, thresholds_optional=True, engine="tensorflow").predict(photo)
    np.testing.assert_allclose(fast.predict(photo), keras_probs, atol=2e-3)
