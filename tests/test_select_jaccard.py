"""Choosing the epoch by the optic disc's own figure (train.py --select-by val_jaccard): the mean
Jaccard over validation photographs, one region kept in each map, at the threshold evaluate.py's
max_dice rule chooses. Checked against the same figure computed the way bench/largest_component.py
computes it (thresholded maps, not histograms), and in a training run that must keep its best epoch
by it."""

import json

import keras
import numpy as np
import pandas as pd
import pytest
from conftest import RECIPE, TINY

import train
from lesionseg.errors import PipelineError
from lesionseg.evaluation import read_truths
from lesionseg.imageio import read_csv, read_rgb, resolve
from lesionseg.metrics import ThresholdCounts, choose_threshold, confusion, per_image_means
from lesionseg.model import build_unet
from lesionseg.predict import Inference
from lesionseg.predictor import Predictor
from lesionseg.prep import PREP_FILE, Prep, to_original
from lesionseg.selection import ValImageScore


def test_val_jaccard_is_the_mean_jaccard_of_one_region_at_the_max_dice_threshold(tiny_ws):
    prep = Prep.read(tiny_ws / "patches" / PREP_FILE)
    table = read_csv(tiny_ws / "val_images.csv", ["image", "mask"], "")
    keras.utils.set_random_seed(3)
    model = build_unet(base_filters=4, depth=3, l2=0.0)
    scorer = ValImageScore(table, tiny_ws, prep, every=1, last_epoch=1, jaccard=True)
    aupr, jaccard = scorer.score(model)

    predictor = Predictor.preparing(prep, Inference(largest_component=True)).with_model(model)
    counts, maps = ThresholdCounts(), []
    for r in table.itertuples():
        truth = read_truths(r, tiny_ws)[..., 0]
        prob = to_original(predictor.predict_prepared(predictor.prepare(read_rgb(resolve(r.image, tiny_ws)))),
                           *truth.shape)[..., 0]
        counts.add(prob, truth)
        maps.append((prob, truth.astype(bool)))
    threshold = choose_threshold(counts, "max_dice")
    rows = [{"lesion_pixels": int(t.sum())} | confusion(p >= threshold, t) for p, t in maps]
    expected = per_image_means(rows)["iou"]
    assert np.isfinite(jaccard) and jaccard == pytest.approx(expected, abs=1e-9)
    # one region kept: an untrained net's maps have many, so the figure differs from the every-region one
    plain = ValImageScore(table, tiny_ws, prep, every=1, last_epoch=1)
    assert np.isnan(plain.score(model)[1]) and plain.score(model)[0] != pytest.approx(aupr[0], abs=1e-6)

    with pytest.raises(ValueError, match="one structure"):
        ValImageScore(table, tiny_ws, Prep(lesions=("EX", "HE")), every=1, last_epoch=1, jaccard=True)


def test_a_run_selected_by_val_jaccard_keeps_the_epoch_of_the_best_mean_jaccard(tiny_ws, tmp_path):
    ck = tmp_path / "ck"
    assert train.main(["--data", str(tiny_ws), "--checkpoints", str(ck), *TINY, *RECIPE, "--epochs", "4",
                       "--val-aupr-every", "1", "--select-by", "val_jaccard"]) == 0
    hist = pd.read_csv(ck / "history.csv")
    assert hist.val_jaccard.notna().all() and hist.val_aupr.notna().all()
    state = json.loads((ck / "state.json").read_text())
    assert state["best_epoch"] == int(hist.epoch[hist.val_jaccard.idxmax()])
    assert state["best_val_jaccard"] == pytest.approx(hist.val_jaccard.max())
    assert "best_val_aupr" not in state


def test_select_by_val_jaccard_refuses_a_model_of_several_lesions(tiny_ws, tmp_path, monkeypatch):
    monkeypatch.setattr(Prep, "channels", property(lambda self: 2))
    with pytest.raises(PipelineError, match="--select-by val_aupr"):
        train.main(["--data", str(tiny_ws), "--checkpoints", str(tmp_path / "ck"), *TINY, "--epochs", "1",
                    "--val-aupr-every", "1", "--select-by", "val_jaccard"])


def test_select_by_val_jaccard_without_whole_image_scoring_says_what_picks_the_epoch(tiny_ws, tmp_path, capsys):
    assert train.main(["--data", str(tiny_ws), "--checkpoints", str(tmp_path / "ck"), *TINY, "--epochs", "1",
                       "--select-by", "val_jaccard"]) == 0
    assert "needs --val-aupr-every N > 0" in capsys.readouterr().err
    assert "best_val_jaccard" not in json.loads((tmp_path / "ck" / "state.json").read_text())
