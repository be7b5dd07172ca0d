"""A training run killed with SIGKILL at any moment and started again with the same command ends
with the uninterrupted run's weights and history, also when it is extended to more epochs and with
the CPU recipe's fresh crops, Dice loss, cosine schedule and whole-image selection."""

import json
import subprocess

import numpy as np
import pandas as pd
import pytest
from conftest import RECIPE, run_until_killed, train_command, weights

from lesionseg.trainlog import aupr_curves


def test_sigkill_and_resume_gives_the_same_weights(tiny_ws, tmp_path):
    """Killed twice, at different moments, and extended from a finished 2-epoch run to 4 epochs
    (make reproduce-idrid IDRID_EPOCHS=...): still the uninterrupted 4-epoch run's weights."""
    ref = tmp_path / "ref"
    subprocess.run(train_command(tiny_ws, ref, "--epochs", "4"), check=True, capture_output=True)
    ck = tmp_path / "killed"
    run_until_killed(train_command(tiny_ws, ck, "--epochs", "2"), ck, 1)
    first = subprocess.run(train_command(tiny_ws, ck, "--epochs", "2"), capture_output=True, text=True)
    assert first.returncode == 0 and "resuming" in first.stdout, first.stderr[-2000:]
    assert json.loads((ck / "state.json").read_text())["epoch"] == 2
    run_until_killed(train_command(tiny_ws, ck, "--epochs", "4"), ck, 3)
    done = subprocess.run(train_command(tiny_ws, ck, "--epochs", "4"), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "resuming" in done.stdout
    for a, b in zip(weights(ref / "epoch_004.keras"), weights(ck / "epoch_004.keras"), strict=True):
        np.testing.assert_array_equal(a, b)
    h_ref, h = pd.read_csv(ref / "history.csv"), pd.read_csv(ck / "history.csv")
    assert h.epoch.tolist() == [1, 2, 3, 4]
    np.testing.assert_allclose(h.loss, h_ref.loss, rtol=1e-6)


@pytest.mark.slow
def test_recipe_run_resumes_after_sigkill_with_the_same_weights(tiny_ws, tmp_path):
    """Fresh crops, Dice loss, cosine schedule and whole-image selection keep the guarantee."""
    ref = tmp_path / "ref"
    subprocess.run(train_command(tiny_ws, ref, "--epochs", "4", *RECIPE), check=True, capture_output=True)
    ck = tmp_path / "killed"
    run_until_killed(train_command(tiny_ws, ck, "--epochs", "4", *RECIPE), ck, 2)
    done = subprocess.run(train_command(tiny_ws, ck, "--epochs", "4", *RECIPE), capture_output=True, text=True)
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
