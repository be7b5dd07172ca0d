"""train.py without tf.data: the numpy input (patches in memory, batches built in NumPy) trains the
same weights as the tf.data input on CPU when the colour changes are exact (brightness, no hue), and
train.py runs under KERAS_BACKEND=jax (when JAX is installed), with TensorFlow made unimportable, to
a model that TensorFlow reads back."""

import importlib.util
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from conftest import ROOT, train_tiny

# as on a machine without TensorFlow: importing it fails (Keras only probes for it)
BLOCK_TENSORFLOW = """
import importlib.abc, sys
class NoTensorFlow(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] == "tensorflow":
            raise ImportError("TensorFlow is not installed here")
sys.meta_path.insert(0, NoTensorFlow())
"""
FEW = ("--epochs", "2", "--steps-per-epoch", "3", "--hue-delta", "0", "--brightness-delta", "0.1",
       "--rotations")


def weights(folder):
    from lesionseg.checkpoints import load_trained

    return load_trained(folder).get_weights()


def test_the_numpy_input_trains_the_weights_of_the_tf_data_input(tiny_ws, tmp_path):
    a = train_tiny(tiny_ws, tmp_path / "tfdata", *FEW, "--input", "tfdata")
    b = train_tiny(tiny_ws, tmp_path / "numpy", *FEW, "--input", "numpy")
    for wa, wb in zip(weights(a), weights(b), strict=True):
        np.testing.assert_array_equal(wa, wb)
    c = train_tiny(tiny_ws, tmp_path / "other", *FEW, "--input", "numpy", "--seed", "9")
    assert any(not np.array_equal(wa, wc) for wa, wc in zip(weights(a), weights(c), strict=True))


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="JAX is not installed")
def test_train_runs_under_jax_and_its_model_is_read_back(tiny_ws, tmp_path):
    folder = tmp_path / "jax"
    env = os.environ | {"KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    code = BLOCK_TENSORFLOW + "import train; sys.exit(train.main(sys.argv[1:]))"
    done = subprocess.run([sys.executable, "-c", code, "--data", str(tiny_ws), "--checkpoints", str(folder),
                           "--base-filters", "4", "--depth", "3", "--batch-size", "4", "--epochs", "2",
                           "--steps-per-epoch", "3", "--mixed-precision", "mixed_bfloat16", "--val-aupr-every", "1"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "input: numpy" in done.stdout and "devices ['cpu:0']" in done.stdout
    history = (folder / "history.csv").read_text().splitlines()
    assert len(history) == 3 and "val_aupr" in history[0]
    model = keras.models.load_model(folder / "model.keras", compile=False)  # read back under TensorFlow
    x = np.random.default_rng(0).uniform(0, 255, (1, 64, 64, 3)).astype(np.float32)
    assert np.isfinite(model.predict_on_batch(x)).all()


def test_max_minutes_stops_after_an_epoch_and_the_same_command_resumes(tiny_ws, tmp_path, capsys):
    import json

    flags = ("--epochs", "3", "--steps-per-epoch", "2", "--max-minutes", "0.0001")
    folder = train_tiny(tiny_ws, tmp_path / "ck", *flags)
    assert json.loads((folder / "state.json").read_text())["epoch"] == 1
    assert "--max-minutes 0.0001 reached; the same command resumes" in capsys.readouterr().out
    assert json.loads((folder / "bundle.json").read_text())["provenance"]["epochs"] == 1
    train_tiny(tiny_ws, folder, *flags)
    assert json.loads((folder / "state.json").read_text())["epoch"] == 2
