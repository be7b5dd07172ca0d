"""Every inference engine gives TensorFlow's answer: the ONNX export of a model bundle, run by ONNX
Runtime and by OpenVINO, predicts a synthetic photograph within 1e-3 of the Keras model with flips
averaged, and its masks differ on under 0.01% of pixels; an export left over from an earlier model,
or a missing package, is refused with a message that says what to do."""

import json
import shutil
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from conftest import train_tiny

import infer
from lesionseg.engines import ENGINES, choose, installed
from lesionseg.errors import PipelineError
from lesionseg.export import ONNX_FILE, export_onnx
from lesionseg.imageio import read_gray
from lesionseg.predictor import Predictor
from lesionseg.synthetic import fundus

ONNX_ENGINES = [e for e in ENGINES[1:] if installed(e)]
pytestmark = pytest.mark.skipif(not ONNX_ENGINES or not installed("tensorflow"), reason="no ONNX engine installed")


@pytest.fixture(scope="module")
def exported(tiny_ws, tmp_path_factory):
    folder = train_tiny(tiny_ws, tmp_path_factory.mktemp("engines_ck"), "--epochs", "1", "--steps-per-epoch", "6")
    before = json.loads((folder / "bundle.json").read_text())
    record = export_onnx(folder)
    after = json.loads((folder / "bundle.json").read_text())
    assert {k: v for k, v in after.items() if k != "exports"} == {k: v for k, v in before.items() if k != "exports"}
    assert after["exports"]["onnx"] | {"path": str(folder / ONNX_FILE)} == record and (folder / ONNX_FILE).is_file()
    return folder


@pytest.mark.parametrize("engine", ONNX_ENGINES)
def test_an_engine_predicts_what_tensorflow_predicts(exported, engine):
    image = fundus(700, 460, seed=11)[0]  # not a multiple of the model's input multiple: padding included
    reference = Predictor.load(exported, {"tta": True}, engine="tensorflow").predict(image)
    predictor = Predictor.load(exported, {"tta": True}, engine=engine)
    assert predictor.engine == engine
    prob = predictor.predict(image)
    assert prob.shape == reference.shape == (460, 700, 1)
    assert np.abs(prob - reference).max() <= 1e-3
    for threshold in (0.5, float(np.median(reference))):  # the median: half the pixels sit near it
        assert ((prob >= threshold) != (reference >= threshold)).mean() < 1e-4
    assert reference.std() > 1e-3  # the maps compared are not flat


@pytest.mark.skipif(not installed("openvino"), reason="OpenVINO is not installed")
def test_openvino_runs_batches_side_by_side_with_each_its_own_logits(exported):
    """The flips go to OpenVINO together (THROUGHPUT, asynchronous requests): each answer must be
    its own batch's, in order, as one request at a time gives it."""
    from lesionseg.bundle import Bundle
    from lesionseg.engines import open_network

    net = open_network("openvino", exported, Bundle.read(exported), "float32")
    image = fundus(256, 192, seed=5)[0].astype(np.float32)
    noise = np.random.default_rng(0).uniform(0, 255, image.shape).astype(np.float32)
    batches = [image[None], image[None, :, ::-1], image[None, ::-1], noise[None]]
    together = net.logits_each(batches)
    alone = [net.logits(b) for b in batches]
    for a, b in zip(together, alone, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)
    assert np.abs(together[0] - together[3]).max() > 1e-3  # distinct inputs, distinct answers


def test_auto_takes_an_installed_onnx_engine_only_for_a_current_export(exported, tmp_path):
    from lesionseg.bundle import Bundle

    assert choose("auto", exported, Bundle.read(exported)) == ONNX_ENGINES[-1]  # openvino first when there
    stale = tmp_path / "stale"
    shutil.copytree(exported, stale)
    with (stale / "model.keras").open("ab") as f:
        f.write(b"\0")  # another model.keras than the one exported (as after training again)
    assert choose("auto", stale, Bundle.read(stale)) == "tensorflow"
    with pytest.raises(PipelineError, match="python -m lesionseg.export"):
        Predictor.load(stale, engine=ONNX_ENGINES[0])
    with pytest.raises(PipelineError, match="unknown engine"):
        choose("tensorrt", exported, Bundle.read(exported))


def test_a_cached_export_serves_only_the_model_keras_it_was_made_from(exported, tmp_path, monkeypatch):
    from lesionseg.bundle import Bundle
    from lesionseg.engines import CACHE_ENV, cache_folder, current_export, file_digest

    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    shipped = tmp_path / "shipped"  # a folder as shipped: model.keras and bundle.json, no export
    shipped.mkdir()
    shutil.copy(exported / "model.keras", shipped / "model.keras")
    replace(Bundle.read(exported), exports={}).write(shipped)
    settings = (shipped / "bundle.json").read_bytes()
    assert choose("auto", shipped, Bundle.read(shipped)) == "tensorflow"
    record = export_onnx(shipped, cache=True)
    cached = cache_folder(file_digest(shipped / "model.keras"))
    assert record["path"] == str(cached / ONNX_FILE) and not (shipped / ONNX_FILE).exists()
    assert (shipped / "bundle.json").read_bytes() == settings  # the folder is left as it was
    assert choose("auto", shipped, Bundle.read(shipped)) == ONNX_ENGINES[-1]
    image = fundus(160, 112, seed=4)[0]
    reference = Predictor.load(shipped, engine="tensorflow").predict(image)
    assert np.abs(Predictor.load(shipped, engine=ONNX_ENGINES[0]).predict(image) - reference).max() < 1e-3
    with (shipped / "model.keras").open("ab") as f:
        f.write(b"\0")  # trained again: the cached export is of another model.keras
    assert current_export(shipped, Bundle.read(shipped)) is None
    (cached / "export.json").write_text("{")  # a damaged record is no export either
    shutil.copy(exported / "model.keras", shipped / "model.keras")
    assert choose("auto", shipped, Bundle.read(shipped)) == "tensorflow"


def test_an_unwritable_export_cache_leaves_the_model_to_tensorflow(exported, tmp_path, monkeypatch, capsys):
    from lesionseg.bundle import Bundle
    from lesionseg.engines import CACHE_ENV
    from lesionseg.export import ensure_export

    blocked = tmp_path / "a-file"
    blocked.write_text("")
    monkeypatch.setenv(CACHE_ENV, str(blocked))  # no folder can be made under a file
    folder = tmp_path / "shipped"
    folder.mkdir()
    shutil.copy(exported / "model.keras", folder / "model.keras")
    replace(Bundle.read(exported), exports={}).write(folder)
    ensure_export(folder)
    assert "no export made" in capsys.readouterr().err
    assert choose("auto", folder, Bundle.read(folder)) == "tensorflow"


def test_a_missing_engine_package_says_how_to_install_it(exported, monkeypatch):
    import importlib

    real = importlib.import_module

    def without_openvino(name, *args):
        if name == "openvino":
            raise ImportError("No module named 'openvino'")
        return real(name, *args)

    monkeypatch.setattr(importlib, "import_module", without_openvino)
    with pytest.raises(PipelineError, match="pip install openvino"):
        Predictor.load(exported, engine="openvino")


def test_infer_gives_the_same_masks_and_areas_on_every_engine(exported, tiny_ws, tmp_path):
    photos = tiny_ws.parent / "raw" / "images"
    tables = {}
    for engine in ["tensorflow", *ONNX_ENGINES]:
        out = tmp_path / engine
        assert infer.main(["--checkpoints", str(exported), "--out", str(out), "--engine", engine,
                           "--threshold", "0.5", str(photos)]) == 0
        tables[engine] = pd.read_csv(out / "areas.csv")
    reference = tables.pop("tensorflow")
    masks = sorted(p.name for p in (tmp_path / "tensorflow").glob("*_mask.png"))
    assert len(masks) == len(reference) > 0
    for engine, table in tables.items():
        assert table.image.tolist() == reference.image.tolist()
        differ = sum(int((read_gray(tmp_path / engine / m) != read_gray(tmp_path / "tensorflow" / m)).sum())
                     for m in masks)
        assert differ <= 1e-4 * reference.fov_pixels.sum(), engine


def _stack_output(path) -> None:
    """The converter's occasional layout: the one output wrapped as a list of one, (1, batch, h, w, k)."""
    import onnx
    from onnx import TensorProto, helper

    model = onnx.load(str(path))
    out = model.graph.output[0]
    for node in model.graph.node:
        node.output[:] = [f"{out.name}/flat" if n == out.name else n for n in node.output]
    model.graph.initializer.append(helper.make_tensor("lead", TensorProto.INT64, [1], [0]))
    model.graph.node.append(helper.make_node("Unsqueeze", [f"{out.name}/flat", "lead"], [out.name]))
    out.type.tensor_type.shape.dim.insert(0, onnx.TensorShapeProto.Dimension(dim_value=1))
    onnx.save(model, str(path))


def test_an_export_whose_output_gains_a_leading_axis_is_repaired_or_refused(exported, tmp_path, monkeypatch):
    """Why: tf2onnx sometimes writes the one output as a stack of one; an engine then answers
    (1, batch, h, w, 1), and a check that broadcast the comparison let it through, so every
    prediction failed later. The export squeezes that axis, and checks the answer's shape itself."""
    from lesionseg import export

    folder = tmp_path / "model"
    shutil.copytree(exported, folder)
    (folder / ONNX_FILE).unlink()
    repair = export.drop_stacked_axis
    monkeypatch.setattr(export, "drop_stacked_axis", lambda path: (_stack_output(path), repair(path))[1])
    export_onnx(folder)
    image = fundus(300, 220, seed=3)[0]
    reference = Predictor.load(exported, engine="tensorflow").predict(image)
    for engine in ONNX_ENGINES:
        np.testing.assert_allclose(Predictor.load(folder, engine=engine).predict(image), reference, atol=1e-3)
    monkeypatch.setattr(export, "drop_stacked_axis", _stack_output)  # the converter's layout, not repaired
    (folder / ONNX_FILE).unlink()
    with pytest.raises(PipelineError, match=r"answers in shape \(1, 1, "):
        export_onnx(folder)
    assert not list(folder.glob("*.onnx"))  # nothing half-written
