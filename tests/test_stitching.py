import keras
import numpy as np
import pytest

from lesionseg.predict import predict_faithful, predict_fast, tile_spans


def logit_of_red():
    """A 'model' whose probability is the red channel / 255: stitching must give it back exactly."""
    inp = keras.Input((None, None, 3))
    red = keras.layers.Lambda(lambda x: x[..., :1] / 255.0)(inp)
    clipped = keras.layers.Lambda(lambda p: keras.ops.clip(p, 1e-6, 1 - 1e-6))(red)
    return keras.Model(inp, keras.layers.Lambda(lambda p: keras.ops.log(p / (1 - p)))(clipped))


@pytest.mark.parametrize("shape", [(2848 // 4, 4288 // 4), (300, 200), (513, 1025), (100, 70), (777, 333)])
@pytest.mark.parametrize("mode", ["faithful", "gaussian", "fast"])
def test_identity_model_reproduces_the_image_everywhere(shape, mode):
    rng = np.random.default_rng(sum(shape))
    image = rng.integers(1, 255, (*shape, 3)).astype(np.uint8)
    model = logit_of_red()
    if mode == "fast":
        prob = predict_fast(model, image, multiple=64, tile=256, margin=32)
    else:
        prob = predict_faithful(model, image, patch=128, stride=64, batch=5, gaussian=mode == "gaussian")
    assert prob.shape == (*shape, 1)  # one channel per model output
    np.testing.assert_allclose(prob[..., 0], image[..., 0] / 255.0, atol=2e-5)


def test_tiles_cover_the_axis_once():
    for length in (1, 63, 64, 2848, 4288, 5000):
        spans = tile_spans(length, 2048)
        assert spans[0][0] == 0 and spans[-1][1] == length
        assert all(a[1] == b[0] for a, b in zip(spans, spans[1:], strict=False))
        assert all(b - a <= 2048 for a, b in spans)


def test_an_engine_answering_in_another_layout_is_one_clear_error():
    """Why: logits with an extra leading axis (seen once, from an unknown source, in a parallel test
    run) surfaced as a broadcasting error deep in the stitching, naming neither engine nor remedy."""
    from dataclasses import dataclass

    from lesionseg.errors import PipelineError

    image = np.random.default_rng(3).integers(1, 255, (200, 150, 3)).astype(np.uint8)

    @dataclass
    class Stacked:  # an engine that keeps a leading axis
        outputs: int = 1
        multiple: int = 1

        def logits(self, batch):
            return np.zeros((1, *batch.shape[:3], 1), np.float32)

    with pytest.raises(PipelineError, match=r"Stacked: logits of shape \(1, 4, 64, 64, 1\) for a batch of"):
        predict_faithful(Stacked(), image, patch=64, stride=32, batch=4)
    with pytest.raises(PipelineError, match=r"Stacked: logits of shape \(1, 1, "):  # the fast path too
        predict_fast(Stacked(), image, multiple=64, tile=128, margin=32)
