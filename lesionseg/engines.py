"""The network behind a Predictor, run by one of three engines:

tensorflow   the Keras model itself (model.keras); always there, and the only one for training.
onnxruntime  the model's ONNX export (model.onnx, made by `python -m lesionseg.export`).
openvino     the same ONNX file, compiled by OpenVINO for this CPU: the fastest here (docs/benchmarks.md).

An export lies beside model.keras (recorded in bundle.json), or in the export cache (EXPORT_CACHE,
or ~/.cache/lesionseg/exports), in a folder named by the digest of the model.keras it was made from:
so the shipped models carry only their Keras weights (half the size), infer.py makes their export
once on first use (lesionseg.export.ensure_export), and a cached export can never belong to another model.

Every engine gives the same logits for the same input (tests/test_engines.py holds them to 1e-3 in
probability), so the tiling, flips, thresholds and figures around it are shared: lesionseg.predict
only ever calls `Network.logits`, or `logits_each` for inputs that may run side by side. `auto`
takes the fastest installed engine for which the folder has a current export, and TensorFlow
otherwise.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .errors import PipelineError

ENGINES = ("tensorflow", "onnxruntime", "openvino")
CHOICES = ("auto",) + ENGINES
FASTEST_FIRST = ("openvino", "onnxruntime")  # measured by bench/bench_infer.py
PACKAGES = {"onnxruntime": "onnxruntime", "openvino": "openvino"}
OPENVINO_PRECISION = {"float32": "f32", "bfloat16": "bf16", "float16": "f16"}
CACHE_ENV = "EXPORT_CACHE"  # where exports made outside their model's folder go (a shipped model's)
RECORD_FILE = "export.json"  # a cached export's record, as bundle.json's exports["onnx"] beside model.keras
SHAPES_KEPT = 4  # compiled input shapes an OpenVINO network keeps (one camera's photographs share one)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """The logistic of an engine's float32 logits, in NumPy: the project's one sigmoid outside the graph,
    here and not beside the network so that what reads probabilities need not load Keras."""
    return (0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, np.float32)))).astype(np.float32)  # overflow-free


class Network(Protocol):
    """What prediction needs from a network: its float32 logits for a batch of prepared inputs."""

    outputs: int  # channels: one per lesion
    multiple: int  # input sides must be a multiple of this

    def logits(self, batch: np.ndarray) -> np.ndarray: ...


@dataclass
class KerasNetwork:
    model: Any  # keras.Model
    outputs: int = 0
    multiple: int = 0

    def __post_init__(self):
        from .model import input_multiple, model_outputs

        self.outputs, self.multiple = model_outputs(self.model), input_multiple(self.model)

    def logits(self, batch: np.ndarray) -> np.ndarray:
        """predict_on_batch runs a compiled graph (conv, BN and ReLU fused): 1.4x faster than eager calls."""
        return np.asarray(self.model.predict_on_batch(batch), np.float32)


def as_network(net: Any) -> Network:
    """A Network as it is; a Keras model wrapped (training scores the model it is fitting)."""
    return net if hasattr(net, "logits") else KerasNetwork(net)


@dataclass
class OnnxRuntimeNetwork:
    path: Path
    outputs: int
    multiple: int
    session: Any = None

    def __post_init__(self):
        ort = _package("onnxruntime")
        options = ort.SessionOptions()
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name

    def logits(self, batch: np.ndarray) -> np.ndarray:
        return np.asarray(self.session.run(None, {self.input: np.asarray(batch, np.float32)})[0], np.float32)


@dataclass
class OpenVINONetwork:
    """Compiled once per input shape (a static shape runs faster than a dynamic one; about 0.5 s)."""

    path: Path
    outputs: int
    multiple: int
    precision: str = "float32"
    compiled: dict[tuple[int, ...], dict[str, Any]] = field(default_factory=dict)  # per shape: by hint, "queue"

    def __post_init__(self):
        self.ov = _package("openvino")
        self.core = self.ov.Core()

    def _kept(self, shape: tuple[int, ...]) -> dict[str, Any]:
        """What is compiled for one input shape; the oldest shape goes when SHAPES_KEPT are held."""
        if shape not in self.compiled:
            if len(self.compiled) >= SHAPES_KEPT:
                self.compiled.pop(next(iter(self.compiled)))
            self.compiled[shape] = {}
        return self.compiled[shape]

    def _compiled(self, shape: tuple[int, ...], hint: str = "LATENCY") -> Any:
        """LATENCY: one request on every core; THROUGHPUT: requests side by side, a core or so each."""
        kept = self._kept(shape)
        if hint not in kept:
            model = self.core.read_model(str(self.path))
            model.reshape(list(shape))
            config = {"PERFORMANCE_HINT": hint, "INFERENCE_PRECISION_HINT": OPENVINO_PRECISION[self.precision]}
            kept[hint] = self.core.compile_model(model, "CPU", config)
        return kept[hint]

    def _queue(self, shape: tuple[int, ...]) -> Any:
        """The asynchronous requests for side-by-side batches of `shape`, made once (each holds its
        own buffers for every layer, so making them per photograph would allocate them again)."""
        kept = self._kept(shape)
        if "queue" not in kept:
            compiled = self._compiled(shape, "THROUGHPUT")
            kept["queue"] = self.ov.AsyncInferQueue(compiled, compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))
        return kept["queue"]

    def logits(self, batch: np.ndarray) -> np.ndarray:
        batch = np.ascontiguousarray(batch, np.float32)
        return np.array(self._compiled(batch.shape)(batch)[0], np.float32)

    def logits_each(self, batches: list[np.ndarray]) -> list[np.ndarray]:
        """Several batches of one shape run side by side (the four flips): on 2 cores faster than one
        after another on both cores (bench/bench_flips.py), with the same logits."""
        if len(batches) < 2 or len({b.shape for b in batches}) != 1:
            return [self.logits(b) for b in batches]
        queue = self._queue(batches[0].shape)
        out: list[np.ndarray | None] = [None] * len(batches)

        def done(request: Any, k: int) -> None:
            out[k] = np.array(request.get_output_tensor(0).data, np.float32)

        queue.set_callback(done)
        for k, b in enumerate(batches):
            queue.start_async({0: np.ascontiguousarray(b, np.float32)}, k)
        queue.wait_all()
        return out


def logits_each(net: Network, batches: list[np.ndarray]) -> list[np.ndarray]:
    """Each batch's logits; an engine that can run them side by side does."""
    if hasattr(net, "logits_each"):
        return net.logits_each(batches)
    return [net.logits(b) for b in batches]


def describe(engine: str) -> str:
    """The engine as a log line names it: the Keras model runs on Keras's backend, TensorFlow or not."""
    if engine != "tensorflow":
        return engine
    import keras

    backend = keras.backend.backend()
    return engine if backend == "tensorflow" else f"the Keras model on {backend} (no ONNX engine)"


def _package(name: str) -> Any:
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError:
        raise PipelineError(f"the {name} engine needs the {PACKAGES[name]} package, which is not installed: "
                            f"`pip install {PACKAGES[name]}` (make installs it), or use --engine tensorflow") from None


def installed(name: str) -> bool:
    import importlib.util

    return name == "tensorflow" or importlib.util.find_spec(PACKAGES[name]) is not None


def file_digest(path: Path) -> str:
    """sha256 of a file: ties an export to the exact model.keras it was made from."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def cache_folder(source_sha256: str) -> Path:
    """Where the export of the model.keras with this digest is cached."""
    root = Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "lesionseg" / "exports")
    return root / source_sha256


def current_export(folder: Path, bundle: Any) -> dict | None:
    """The export record of this model.keras, with the ONNX file's `path`: the bundle's when model.onnx
    beside was made from it, else the cache's; None when neither is there."""
    from .checkpoints import EXPORT

    if not (folder / EXPORT).is_file():
        return None
    digest = file_digest(folder / EXPORT)
    beside = bundle.exports.get("onnx") if bundle is not None else None
    if beside and beside["source_sha256"] == digest and (folder / beside["file"]).is_file():
        return beside | {"path": str(folder / beside["file"])}
    cached = cache_folder(digest)
    try:
        record = json.loads((cached / RECORD_FILE).read_text())
    except (OSError, ValueError):
        return None
    ok = record.get("source_sha256") == digest and (cached / record.get("file", "")).is_file()
    return record | {"path": str(cached / record["file"])} if ok else None


def choose(engine: str, folder: Path, bundle: Any) -> str:
    """The engine to run: `auto` is the fastest installed one the folder has a current export for."""
    if engine not in CHOICES:
        raise PipelineError(f"unknown engine {engine!r}; use one of {', '.join(CHOICES)}")
    if engine != "auto":
        return engine
    if bundle is not None and current_export(folder, bundle):
        for name in FASTEST_FIRST:
            if installed(name):
                return name
    return "tensorflow"


def open_network(engine: str, folder: Path, bundle: Any, precision: str) -> Network:
    """The exported network of `folder` for an ONNX engine; a missing or stale export says how to make it."""
    record = current_export(folder, bundle)
    if record is None:
        raise PipelineError(f"{folder}: no ONNX export of this model.keras (model.onnx missing or made from "
                            f"another model) for the {engine} engine; make it with `python -m lesionseg.export "
                            f"{folder}`, or use --engine tensorflow")
    path, outputs, multiple = Path(record["path"]), int(record["outputs"]), int(record["input_multiple"])
    if engine == "openvino":
        _package("openvino")
        return OpenVINONetwork(path, outputs, multiple, precision)
    if precision != "float32":
        raise PipelineError(f"the onnxruntime engine computes in float32 only, not {precision}; "
                            "use --precision float32 or another engine")
    return OnnxRuntimeNetwork(path, outputs, multiple)
