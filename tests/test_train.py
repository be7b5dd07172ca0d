import json
import subprocess

import numpy as np
import pandas as pd
import pytest
from conftest import RECIPE, TINY, train_command

import train
from lesionseg.errors import PipelineError


def test_tiny_model_learns_and_writes_its_logs(tiny_ws, tmp_path):
    ck = tmp_path / "ck"
    res = subprocess.run(train_command(tiny_ws, ck, "--epochs", "4", "--tensorboard"), capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-2000:]
    hist = pd.read_csv(ck / "history.csv")
    assert list(hist.epoch) == [1, 2, 3, 4]
    assert hist.loss.iloc[-1] < 0.8 * hist.loss.iloc[0]
    assert set(hist.columns) >= {"loss", "dice", "val_loss", "val_dice", "learning_rate", "wall_seconds"}
    assert (ck / "loss.png").stat().st_size > 1000 and (ck / "previews" / "epoch_004.png").is_file()
    assert any((ck / "tensorboard").rglob("events.*"))
    assert sorted(p.name for p in ck.glob("epoch_*.keras")) == ["epoch_002.keras", "epoch_003.keras", "epoch_004.keras"]
    state = json.loads((ck / "state.json").read_text())
    assert state["epoch"] == 4 and (ck / "model.keras").is_file()


def args(ws, ck, *extra):
    return ["--data", str(ws), "--checkpoints", str(ck), *TINY, *extra]


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tiny_ws, tmp_path, monkeypatch):
    ck = tmp_path / "ck"
    train.main(args(tiny_ws, ck, "--epochs", "1"))
    from lesionseg.losses import WeightedBCE

    original = WeightedBCE.call
    monkeypatch.setattr(WeightedBCE, "call", lambda self, y, x: original(self, y, x) * float("nan"))
    with pytest.raises(PipelineError, match=r"loss became nan.*epoch_001\.keras\) is kept"):
        train.main(args(tiny_ws, ck, "--epochs", "2"))
    assert json.loads((ck / "state.json").read_text())["epoch"] == 1
    assert not (ck / "epoch_002.keras").exists()


def test_resume_with_another_configuration_is_refused_and_fresh_sets_aside(tiny_ws, tmp_path, capsys):
    ck = tmp_path / "ck"
    train.main(args(tiny_ws, ck, "--epochs", "1"))
    with pytest.raises(PipelineError, match=r"base_filters: checkpoint 4, now 8"):
        train.main(args(tiny_ws, ck, "--epochs", "2", "--base-filters", "8"))
    train.main(args(tiny_ws, ck, "--epochs", "1", "--base-filters", "8", "--fresh"))
    kept = list(ck.glob("previous-*/epoch_001.keras"))
    assert len(kept) == 1 and json.loads((ck / "state.json").read_text())["config"]["base_filters"] == 8
    with pytest.raises(PipelineError, match=r"seed: checkpoint 42, now 7"):
        train.main(args(tiny_ws, ck, "--epochs", "2", "--base-filters", "8", "--seed", "7"))
    capsys.readouterr()
    train.main([*args(tiny_ws, ck, "--epochs", "2", "--base-filters", "8"), "--learning-rate", "0.01"])
    assert "resuming with the checkpoint's learning rate 0.003" in capsys.readouterr().err


def test_bad_tables_give_clear_errors(tiny_ws, tmp_path):
    import shutil

    ws = tmp_path / "ws"
    shutil.copytree(tiny_ws, ws)
    first = pd.read_csv(ws / "train.csv").patch_image.iloc[0]
    (ws / first).unlink()
    with pytest.raises(PipelineError, match=r"patch file listed in .*train\.csv is missing"):
        train.main(args(ws, tmp_path / "ck"))
    (ws / "train.csv").write_text("")
    with pytest.raises(PipelineError, match=r"train\.csv: empty or unreadable CSV"):
        train.main(args(ws, tmp_path / "ck"))


def test_training_on_every_non_test_image_keeps_the_lowest_training_loss_and_a_fixed_threshold(
        tiny_ws, tmp_path, capsys):
    """--val-fraction 0 (train on training + validation images): the best epoch falls back to the
    training loss, said so, and evaluate.py applies the fixed threshold to the same held-out images."""
    import shutil

    import evaluate
    import traintest_split

    ws = tmp_path / "ws"
    shutil.copytree(tiny_ws, ws)
    traintest_split.main(["--data", str(ws), "--test-fraction", "0.2", "--val-fraction", "0"])
    assert pd.read_csv(ws / "test.csv").stem.tolist() == pd.read_csv(tiny_ws / "test.csv").stem.tolist()
    ck = tmp_path / "ck"
    train.main(args(ws, ck, "--epochs", "3", "--val-aupr-every", "1"))
    assert "the best epoch is chosen by training loss" in capsys.readouterr().err
    hist = pd.read_csv(ck / "history.csv")
    state = json.loads((ck / "state.json").read_text())
    assert state["best_epoch"] == int(hist.epoch[hist.loss.idxmin()])
    assert state["best_loss"] == pytest.approx(hist.loss.min())
    evaluate.main(["--data", str(ws), "--checkpoints", str(ck), "--results", str(tmp_path / "res"),
                   "--patch-size", "64", "--stride", "32", "--threshold-rule", "fixed", "--fixed-threshold", "0.6"])
    m = json.loads((tmp_path / "res" / "metrics.json").read_text())
    assert m["threshold"] == 0.6 and m["test"]["whole_frame"]["images"] == len(pd.read_csv(ws / "test.csv"))
    assert m["threshold_chosen_on"].startswith("nothing: no validation images")


def test_two_logical_cpus_train_with_mirrored_strategy(tiny_ws, tmp_path):
    res = subprocess.run(train_command(tiny_ws, tmp_path / "ck", "--epochs", "1", "--logical-cpus", "2"),
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "devices ['/device:CPU:0', '/device:CPU:1']" in res.stdout
    assert np.isfinite(pd.read_csv(tmp_path / "ck" / "history.csv").loss).all()




def test_recipe_changes_are_refused_on_resume_and_bf16_trains(tiny_ws, tmp_path):
    ck = tmp_path / "ck"
    train.main(args(tiny_ws, ck, "--epochs", "1", *RECIPE))
    with pytest.raises(PipelineError, match=r"loss: checkpoint 'wbce_dice', now 'wbce'"):
        train.main(args(tiny_ws, ck, "--epochs", "2", *RECIPE, "--loss", "wbce"))
    with pytest.raises(PipelineError, match=r"contrast_delta: checkpoint 0.0, now 0.3"):
        train.main(args(tiny_ws, ck, "--epochs", "1", *RECIPE, "--contrast-delta", "0.3"))  # the data stream
    with pytest.raises(PipelineError, match=r"schedule_epochs: checkpoint 1, now 2"):
        train.main(args(tiny_ws, ck, "--epochs", "2", *RECIPE))  # a cosine run cannot be stretched
    bf = tmp_path / "bf16"
    train.main(args(tiny_ws, bf, "--epochs", "1", *RECIPE, "--mixed-precision", "mixed_bfloat16"))
    assert np.isfinite(pd.read_csv(bf / "history.csv").loss).all()


def test_every_setting_must_match_on_resume_but_those_marked_free():
    """A flag added to train.py later is checked on resume without anyone adding it to a list."""
    from lesionseg.trainconfig import FREE_ON_RESUME, TrainConfig

    settings = {name.lower(): value for name, value in train.CONSTANTS.items()} | {"a_flag_added_later": 1}
    config = TrainConfig.of(settings)
    stored = config.as_dict()
    assert config.mismatches(stored) == []
    assert FREE_ON_RESUME < set(settings)  # every free name is a real setting
    for name, value in stored.items():
        changed = dict(stored, **{name: [value, "changed"]})
        assert bool(config.mismatches(changed)) == (name not in FREE_ON_RESUME), name
    assert config.mismatches({"seed": 7}) == ["seed: checkpoint 7, now 42"]
    assert config.mismatches({}) == []  # a run stored before a setting existed used its default
