"""Export a model folder's network to ONNX, for the onnxruntime and openvino engines (lesionseg.engines).

    .venv/bin/python -m lesionseg.export models/idrid-ex-unet8-half [checkpoints ...]

model.onnx is written beside model.keras, and bundle.json records it with the digest of the
model.keras it was made from, so an export left over from an earlier training is never used. With
--cache (and when infer.py meets a model without one: ensure_export) it goes to the export cache
instead, in a folder named by that digest (lesionseg.engines.cache_folder), and the model's folder
is not touched: that is how a shipped model gets its export. The settings (lesions, preparation,
thresholds) stay in bundle.json, one copy for every engine. Before it is kept, the export is run on
a test input and must give the Keras model's probabilities within TOLERANCE.
"""

from __future__ import annotations

import argparse
import json
import os
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np

from .errors import PipelineError, run_cli

ONNX_FILE = "model.onnx"
TOLERANCE = 1e-3  # largest difference in probability allowed between the export and model.keras
CHECK_SIDES = (3, 5)  # the test input's sides, in multiples of the model's input multiple


def _check_input(multiple: int) -> np.ndarray:
    """A fixed photograph-like input: smooth colour with speckle, 0..255 like a prepared photograph."""
    rng = np.random.default_rng(0)
    h, w = (k * multiple for k in CHECK_SIDES)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    base = np.stack([160 + 60 * xx, 80 + 40 * yy, 40 + 20 * xx * yy], axis=-1)
    return np.clip(base + rng.normal(0, 25, base.shape), 0, 255).astype(np.float32)[None]


def drop_stacked_axis(path: Path) -> None:
    """Squeeze a leading axis of length 1 off the ONNX graph's output, when it has one beyond the
    Keras model's (batch, height, width, outputs). Why: the converter sometimes
    (seen under load, with the same model file) wraps the one output as a list of one, so the graph
    answers (1, batch, height, width, outputs); the values are the model's, the layout is not."""
    import onnx
    from onnx import TensorProto, helper

    graph_model = onnx.load(str(path))
    graph = graph_model.graph
    out = graph.output[0]
    dims = out.type.tensor_type.shape.dim
    if len(graph.output) != 1 or len(dims) != 5 or dims[0].dim_value != 1:
        return
    stacked = f"{out.name}/stacked"
    for node in graph.node:
        node.output[:] = [stacked if name == out.name else name for name in node.output]
    axes = helper.make_tensor(f"{out.name}/axes", TensorProto.INT64, [1], [0])
    graph.initializer.append(axes)
    graph.node.append(helper.make_node("Squeeze", [stacked, axes.name], [out.name]))
    del dims[0]
    onnx.checker.check_model(graph_model)
    onnx.save(graph_model, str(path))


def export_onnx(folder: Path, cache: bool = False) -> dict:
    """Write folder/model.onnx from folder/model.keras, check it, and record it in bundle.json; with
    `cache`, write it and its record to the export cache instead, leaving the folder as it is."""
    import keras

    from .checkpoints import EXPORT, load_trained, model_bundle
    from .engines import (
        ENGINES,
        RECORD_FILE,
        OnnxRuntimeNetwork,
        OpenVINONetwork,
        cache_folder,
        file_digest,
        installed,
        sigmoid,
    )
    from .model import input_multiple, model_outputs

    model = load_trained(folder)
    bundle = model_bundle(model, folder, thresholds_optional=True)
    multiple, outputs = input_multiple(model), model_outputs(model)
    sample = _check_input(multiple)
    expected = sigmoid(model.predict_on_batch(sample))  # the model must have run once before export
    digest = file_digest(folder / EXPORT)
    dest = cache_folder(digest) if cache else folder
    dest.mkdir(parents=True, exist_ok=True)
    tmp = dest / f"model.tmp-{os.getpid()}.onnx"
    try:
        try:
            with warnings.catch_warnings():  # tf2onnx probes np.object, which NumPy 2 warns about
                warnings.simplefilter("ignore", FutureWarning)
                model.export(str(tmp), format="onnx", verbose=False)
        except ImportError as exc:
            raise PipelineError(f"exporting to ONNX needs tf2onnx and onnx ({exc}): `pip install tf2onnx onnx` "
                                "(make installs them)") from None
        drop_stacked_axis(tmp)
        checker = next((e for e in ENGINES[1:] if installed(e)), None)
        if checker is None:
            raise PipelineError("checking the export needs onnxruntime or openvino: `pip install onnxruntime`")
        net = (OnnxRuntimeNetwork if checker == "onnxruntime" else OpenVINONetwork)(tmp, outputs, multiple)
        answer = sigmoid(net.logits(sample))
        if answer.shape != expected.shape:  # compared as they are: broadcasting would hide another layout
            raise PipelineError(f"{folder}: the ONNX export answers in shape {answer.shape}, model.keras in "
                                f"{expected.shape}; keep using --engine tensorflow and report this")
        diff = float(np.abs(answer - expected).max())
        if not diff <= TOLERANCE:
            raise PipelineError(f"{folder}: the ONNX export differs from model.keras by {diff:.2g} in probability "
                                f"(allowed {TOLERANCE}); keep using --engine tensorflow and report this")
        os.replace(tmp, dest / ONNX_FILE)
    finally:
        tmp.unlink(missing_ok=True)
    record = {"file": ONNX_FILE, "source": EXPORT, "source_sha256": digest,
              "outputs": outputs, "input_multiple": multiple, "checked_with": checker,
              "checked_max_difference": diff, "keras": keras.__version__}
    if cache:
        from .imageio import atomic_path

        with atomic_path(dest / RECORD_FILE) as path:
            path.write_text(json.dumps(record | {"made_from": str(folder.resolve())}, indent=2) + "\n")
    else:
        replace(bundle, exports=bundle.exports | {"onnx": record}).write(folder)
    return record | {"path": str(dest / ONNX_FILE)}


def ensure_export(folder: Path) -> None:
    """Before infer.py's `auto` engine chooses: a model without a current export (a shipped one) gets
    one in the export cache, once, when the packages to make and run it are installed; a failure is
    a warning, and TensorFlow runs it."""
    import keras

    from .bundle import Bundle
    from .engines import FASTEST_FIRST, current_export, installed
    from .errors import warn

    if keras.backend.backend() != "tensorflow" or not any(installed(e) for e in FASTEST_FIRST):
        return
    from .ensemble import model_folders

    if (members := model_folders(folder)) != [folder]:  # an ensemble: each member its own export
        for member in members:
            ensure_export(member)
        return
    if not folder.is_dir() or current_export(folder, Bundle.read(folder, thresholds_optional=True)):
        return
    import importlib.util

    if importlib.util.find_spec("tf2onnx") is None:
        return
    print(f"{folder}: making its ONNX export for the faster engines, once (kept in the export cache)")
    try:
        record = export_onnx(folder, cache=True)
    except (PipelineError, OSError) as exc:  # e.g. an unwritable cache: slower, not broken
        warn(f"{folder}: no export made ({exc}); TensorFlow runs it")
        return
    print(f"{record['path']}: exported")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="+", type=Path,
                        help="model folders (checkpoints/ or models/<name>); an ensemble's members each get one")
    parser.add_argument("--cache", action="store_true",
                        help="write to the export cache, not beside model.keras (the folder stays as it is)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from .quiet import quiet_tensorflow

    quiet_tensorflow()
    from .ensemble import model_folders

    for folder in [member for given in args.folders for member in model_folders(given)]:
        record = export_onnx(folder, args.cache)
        print(f"{record['path']}: exported; probabilities within {record['checked_max_difference']:.1e} "
              f"of model.keras ({record['checked_with']})")
    return 0


if __name__ == "__main__":
    run_cli(main)
