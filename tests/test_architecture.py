"""The CFFA-CBAM U-Net is an architecture option stored with the model: train.py builds it, the saved
model comes back as the same network (weights only, too), a resume with the other architecture is
refused, and its ONNX export predicts what TensorFlow predicts, like the plain U-Net's."""

import numpy as np
import pytest
from conftest import train_tiny

from lesionseg.checkpoints import load_trained
from lesionseg.engines import ENGINES, installed
from lesionseg.errors import PipelineError
from lesionseg.model import build_unet, model_architecture, model_depth, rebuild
from lesionseg.predictor import Predictor
from lesionseg.synthetic import fundus


def test_cffa_cbam_has_its_own_blocks_and_the_unets_input_rule():
    plain, cffa = build_unet(4, 3, architecture="unet"), build_unet(4, 3, architecture="cffa_cbam")
    assert model_architecture(plain) == "unet" and model_architecture(cffa) == "cffa_cbam"
    assert model_depth(cffa) == 3 and cffa.get_layer("down1_conv1").kernel.shape[:2] == (3, 1)
    assert cffa.get_layer("bridge_spatial_gate").kernel.shape == (7, 7, 2, 1)
    assert cffa.count_params() > plain.count_params()
    out = cffa(np.zeros((2, 48, 72, 3), np.float32))
    assert tuple(out.shape) == (2, 48, 72, 1)
    with pytest.raises(ValueError, match="architecture must be one of unet, cffa_cbam"):
        build_unet(4, 3, architecture="deformable")


@pytest.fixture(scope="module")
def trained(tiny_ws, tmp_path_factory):
    return train_tiny(tiny_ws, tmp_path_factory.mktemp("cffa_ck"), "--epochs", "1", "--steps-per-epoch", "4",
                      "--architecture", "cffa_cbam")


def test_a_cffa_cbam_run_keeps_its_architecture_through_save_rebuild_and_resume(trained, tiny_ws):
    model = load_trained(trained)
    assert model_architecture(model) == "cffa_cbam"
    x = fundus(96, 64, seed=5)[0][None].astype(np.float32)
    np.testing.assert_array_equal(np.asarray(rebuild(model)(x)), np.asarray(model(x)))
    with pytest.raises(PipelineError, match=r"architecture: checkpoint 'cffa_cbam', now 'unet'"):
        train_tiny(tiny_ws, trained, "--epochs", "2", "--steps-per-epoch", "4")


@pytest.mark.skipif(not installed("tensorflow"), reason="the export needs TensorFlow")
def test_its_onnx_export_predicts_what_tensorflow_predicts(trained):
    from lesionseg.export import export_onnx

    engines = [e for e in ENGINES[1:] if installed(e)]
    if not engines:
        pytest.skip("no ONNX engine installed")
    export_onnx(trained)
    image = fundus(300, 220, seed=8)[0]
    reference = Predictor.load(trained, {"tta": True}, engine="tensorflow").predict(image)
    assert reference.std() > 1e-4
    for engine in engines:
        prob = Predictor.load(trained, {"tta": True}, engine=engine).predict(image)
        assert np.abs(prob - reference).max() <= 1e-3, engine
