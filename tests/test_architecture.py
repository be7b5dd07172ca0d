"""The CFFA-CBAM and deformable U-Nets are architecture options stored with the model: train.py builds
them, the saved model comes back as the same network (weights only, too), a resume with another
architecture is refused, and the ONNX export predicts what TensorFlow predicts, like the plain
U-Net's. The deformable conv is a plain conv until its offsets move, and then reads the moved taps."""

import numpy as np
import pytest
from conftest import train_tiny

from lesionseg.checkpoints import load_trained
from lesionseg.engines import ENGINES, installed
from lesionseg.errors import PipelineError
from lesionseg.model import build_unet, conv_flops, model_architecture, model_depth, rebuild
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
    with pytest.raises(ValueError, match="architecture must be one of unet, cffa_cbam, deformable"):
        build_unet(4, 3, architecture="dilated")


def test_a_deformable_conv_is_a_plain_conv_until_its_taps_move_and_then_reads_the_moved_taps():
    import keras

    from lesionseg.deformable import DeformableConv2D

    x = np.random.default_rng(0).normal(size=(2, 9, 11, 4)).astype(np.float32)
    deform, plain = DeformableConv2D(5), keras.layers.Conv2D(5, 3, padding="same")
    deform.build(x.shape)
    plain.build(x.shape)
    deform.bias.assign(np.full(5, 0.1, np.float32))
    plain.set_weights([deform.kernel.numpy(), deform.bias.numpy()])
    np.testing.assert_allclose(np.asarray(deform(x)), np.asarray(plain(x)), atol=1e-5)  # offsets start at 0
    below = np.concatenate([x[:, 1:], np.zeros_like(x[:, :1])], axis=1)  # each row replaced by the one below
    moved = deform.offsets.bias.numpy()
    moved[0::2] = 1.0  # every tap one row down
    deform.offsets.bias.assign(moved)
    np.testing.assert_allclose(np.asarray(deform(x))[:, 1:], np.asarray(plain(below))[:, 1:], atol=1e-5)
    moved[0::2] = 0.5  # half way: the bilinear mean of the two rows
    deform.offsets.bias.assign(moved)
    half = 0.5 * (np.asarray(plain(below)) + np.asarray(plain(x)))
    np.testing.assert_allclose(np.asarray(deform(x))[:, 1:], half[:, 1:], atol=1e-5)


def test_the_deformable_unet_bends_its_encoder_below_the_first_level_and_learns_offsets():
    import tensorflow as tf

    model = build_unet(4, 3, architecture="deformable")
    assert model_architecture(model) == "deformable" and model_depth(model) == 3
    names = [layer.name for layer in model.layers]
    assert "down2_deform2" in names and "down1_deform2" not in names and "down1_conv2" in names
    x = fundus(48, 32, seed=3)[0][None].astype(np.float32)
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(model(x)))
    offsets = model.get_layer("down2_deform2").offsets.kernel
    assert float(tf.reduce_max(tf.abs(tape.gradient(loss, offsets)))) > 0  # the taps can learn to move
    # its matrix work is counted: the plain conv's, plus the 18 offset channels of each deformable conv
    extra = 2 * 9 * 8 * 18 * 32 * 32  # down2's one deformable conv: 8 channels in, at half of 64 x 64
    assert conv_flops(model, 64, 64) == conv_flops(build_unet(4, 3), 64, 64) + extra


@pytest.fixture(scope="module", params=["cffa_cbam", "deformable"])
def trained(request, tiny_ws, tmp_path_factory):
    return train_tiny(tiny_ws, tmp_path_factory.mktemp(f"{request.param}_ck"), "--epochs", "1",
                      "--steps-per-epoch", "4", "--architecture", request.param), request.param


def test_a_run_keeps_its_architecture_through_save_rebuild_and_resume(trained, tiny_ws):
    trained, architecture = trained
    model = load_trained(trained)
    assert model_architecture(model) == architecture
    x = fundus(96, 64, seed=5)[0][None].astype(np.float32)
    np.testing.assert_array_equal(np.asarray(rebuild(model)(x)), np.asarray(model(x)))
    with pytest.raises(PipelineError, match=rf"architecture: checkpoint '{architecture}', now 'unet'"):
        train_tiny(tiny_ws, trained, "--epochs", "2", "--steps-per-epoch", "4")


@pytest.mark.skipif(not installed("tensorflow"), reason="the export needs TensorFlow")
def test_its_onnx_export_predicts_what_tensorflow_predicts(trained):
    from lesionseg.export import export_onnx

    trained = trained[0]
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
