import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT

import train
from lesionseg.checkpoints import load_trained
from lesionseg.errors import PipelineError
from lesionseg.trainlog import aupr_curves

TINY = ["--base-filters", "4", "--depth", "3", "--batch-size", "4", "--no-tensorboard", "--learning-rate", "3e-3"]


def cmd(ws, ck, *extra):
    return [sys.executable, str(ROOT / "train.py"), "--data", str(ws), "--checkpoints", str(ck), *TINY, *extra]


def weights(path):
    return load_trained(path).get_weights()


def test_tiny_model_learns_and_writes_its_logs(tiny_ws, tmp_path):
    ck = tmp_path / "ck"
    res = subprocess.run(cmd(tiny_ws, ck, "--epochs", "4", "--tensorboard"), capture_output=True, text=True)
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


def run_until_killed(command: list[str], ck, after_epoch: int) -> None:
    """Start a training run and SIGKILL it somewhere inside the epoch after `after_epoch`."""
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        state = ck / "state.json"
        if state.is_file() and json.loads(state.read_text())["epoch"] >= after_epoch:
            time.sleep(0.3)  # somewhere inside the next epoch
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


def test_sigkill_and_resume_gives_the_same_weights(tiny_ws, tmp_path):
    """Killed twice, at different moments, and extended from a finished 2-epoch run to 4 epochs
    (make reproduce-idrid IDRID_EPOCHS=...): still the uninterrupted 4-epoch run's weights."""
    ref = tmp_path / "ref"
    subprocess.run(cmd(tiny_ws, ref, "--epochs", "4"), check=True, capture_output=True)
    ck = tmp_path / "killed"
    run_until_killed(cmd(tiny_ws, ck, "--epochs", "2"), ck, 1)
    first = subprocess.run(cmd(tiny_ws, ck, "--epochs", "2"), capture_output=True, text=True)
    assert first.returncode == 0 and "resuming" in first.stdout, first.stderr[-2000:]
    assert json.loads((ck / "state.json").read_text())["epoch"] == 2
    run_until_killed(cmd(tiny_ws, ck, "--epochs", "4"), ck, 3)
    done = subprocess.run(cmd(tiny_ws, ck, "--epochs", "4"), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "resuming" in done.stdout
    for a, b in zip(weights(ref / "epoch_004.keras"), weights(ck / "epoch_004.keras"), strict=True):
        np.testing.assert_array_equal(a, b)
    h_ref, h = pd.read_csv(ref / "history.csv"), pd.read_csv(ck / "history.csv")
    assert h.epoch.tolist() == [1, 2, 3, 4]
    np.testing.assert_allclose(h.loss, h_ref.loss, rtol=1e-6)


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
    res = subprocess.run(cmd(tiny_ws, tmp_path / "ck", "--epochs", "1", "--logical-cpus", "2"),
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "devices ['/device:CPU:0', '/device:CPU:1']" in res.stdout
    assert np.isfinite(pd.read_csv(tmp_path / "ck" / "history.csv").loss).all()


RECIPE = ["--sampling", "crops", "--lesion-crop-share", "0.6", "--loss", "wbce_dice", "--lr-schedule", "cosine",
          "--warmup-steps", "3", "--steps-per-epoch", "4", "--val-aupr-every", "2", "--workers", "1"]


@pytest.mark.slow
def test_recipe_run_resumes_after_sigkill_with_the_same_weights(tiny_ws, tmp_path):
    """Fresh crops, Dice loss, cosine schedule and whole-image selection keep the guarantee."""
    ref = tmp_path / "ref"
    subprocess.run(cmd(tiny_ws, ref, "--epochs", "4", *RECIPE), check=True, capture_output=True)
    ck = tmp_path / "killed"
    run_until_killed(cmd(tiny_ws, ck, "--epochs", "4", *RECIPE), ck, 2)
    done = subprocess.run(cmd(tiny_ws, ck, "--epochs", "4", *RECIPE), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    for a, b in zip(weights(ref / "epoch_004.keras"), weights(ck / "epoch_004.keras"), strict=True):
        np.testing.assert_array_equal(a, b)
    hist = pd.read_csv(ref / "history.csv")
    # whole validation images scored on epochs 2 and 4 only; the exported model is the best of them
    assert hist.val_aupr.notna().tolist() == [False, True, False, True]
    state = json.loads((ref / "state.json").read_text())
    assert state["best_epoch"] == int(hist.epoch[hist.val_aupr.idxmax()])
    assert state["best_val_aupr"] == pytest.approx(hist.val_aupr.max())
    assert list(aupr_curves(hist)) == ["AUPR"]  # one lesion: one AUPR line in loss.png
    lr = hist.learning_rate.tolist()
    assert lr[0] > lr[1] > lr[2] > lr[3] == pytest.approx(0, abs=1e-9)  # cosine decay to zero at the end
    assert (hist.val_seconds > 0).all() and hist.aupr_seconds.notna().sum() == 2
    from lesionseg.bundle import Bundle

    stored = Bundle.read(ref)
    assert stored.prep.scale == 1.0 and stored.provenance["best_epoch"] == state["best_epoch"]
    assert stored.provenance["training_minutes"] == round(state["wall_seconds"] / 60, 1)
    assert stored.provenance["command"].startswith("train.py --data ")


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
