"""The one way a photograph becomes probability maps.

A Predictor holds the network, run by one of the engines of lesionseg.engines, and its bundle
(lesionseg.bundle: the lesions, the input preparation, with the working scale or field-of-view
rule, and the inference settings). evaluate.py, infer.py,
the whole-image validation scoring in training, the bench scripts and a notebook all call it, so no
stage can feed the network differently from another:

    from lesionseg.predictor import Predictor
    predictor = Predictor.load(Path("models/idrid-ex-unet8-half"))
    prob = predictor.predict(rgb)  # HxWxK, one channel per lesion, at the photograph's own size
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from .bundle import Bundle
from .engines import Network, as_network
from .errors import PipelineError
from .predict import Inference, predict_prepared
from .prep import Prep, prepare_image, to_original


@dataclass(frozen=True)
class Predictor:
    network: Network | None  # None: a predictor that only prepares inputs (see with_model)
    bundle: Bundle
    inference: Inference = Inference()  # in use: the bundle's, unless the caller chose others
    engine: str = "tensorflow"

    @classmethod
    def load(cls, folder: Path, overrides: dict[str, Any] | None = None,
             thresholds_optional: bool = False, engine: str = "auto") -> Predictor:
        """The model of a checkpoints or models/<name> folder with its bundle (checked against the
        model's outputs), predicting with the stored inference settings but for `overrides`, on
        `engine` (lesionseg.engines; auto: the fastest one installed that the folder has an export for)."""
        from .checkpoints import load_trained, model_bundle
        from .engines import choose, open_network
        from .model import with_precision

        stored = Bundle.read(folder, thresholds_optional) if folder.is_dir() else None
        if stored is not None and stored.members:
            return cls._ensemble(folder, stored, overrides, engine)
        engine = choose(engine, folder, stored)
        if engine == "tensorflow":
            trained = load_trained(folder)
            bundle = model_bundle(trained, folder, thresholds_optional)
            inference = replace(bundle.inference, **(overrides or {}))
            return cls(as_network(with_precision(trained, inference.precision)), bundle, inference, engine)
        if stored is None:
            raise PipelineError(f"{folder}: no such model folder")
        inference = replace(stored.inference, **(overrides or {}))
        network = open_network(engine, folder, stored, inference.precision)
        if network.outputs != len(stored.lesions):
            raise PipelineError(f"{folder}: the exported model has {network.outputs} output(s) but its settings name "
                                f"{len(stored.lesions)} lesion(s); export it again (python -m lesionseg.export)")
        return cls(network, stored, inference, engine)

    @classmethod
    def _ensemble(cls, folder: Path, stored: Bundle, overrides: dict[str, Any] | None, engine: str) -> Predictor:
        """An ensemble folder (lesionseg.ensemble): each member's network, on `engine`, averaged; the
        preparation, inference settings and threshold are the ensemble's own."""
        from .ensemble import MeanNetwork, member_folders

        members = [cls.load(path, thresholds_optional=True, engine=engine) for path in member_folders(folder, stored)]
        for path, member in zip(stored.members, members, strict=True):
            if member.bundle.lesions != stored.lesions or member.prep != stored.prep:
                raise PipelineError(f"{folder / path}: its lesions or preparation differ from the ensemble's; "
                                    "assemble it again (python -m lesionseg.ensemble)")
        inference = replace(stored.inference, **(overrides or {}))
        engines = sorted({m.engine for m in members})
        return cls(MeanNetwork([m.network for m in members]), stored, inference, "+".join(engines))

    @classmethod
    def preparing(cls, prep: Prep, inference: Inference = Inference()) -> Predictor:
        """A predictor without a network yet: prepares inputs now, predicts after with_model."""
        return cls(None, Bundle.for_prep(prep), inference)

    def with_model(self, model: Any) -> Predictor:
        """The same preparation and settings on another network (e.g. the Keras model being trained)."""
        return replace(self, network=as_network(model), engine="tensorflow")

    @property
    def prep(self) -> Prep:
        return self.bundle.prep

    @property
    def lesions(self) -> tuple[str, ...]:
        """The outputs' lesions, in order (one name for a single-output model)."""
        return self.bundle.lesions

    def prepare(self, image: np.ndarray, name: str = "", diameter: float | None = None) -> np.ndarray:
        """The network's input for an HxWx3 uint8 photograph; `name` is for warnings, `diameter` its
        field of view's when already measured (lesionseg.fov.measure)."""
        return prepare_image(image, self.prep, self.prep.factor(image, name, diameter))

    def predict_prepared(self, prepared: np.ndarray) -> np.ndarray:
        """HxWxK probabilities at the working scale for an input from `prepare`."""
        if self.network is None:
            raise ValueError("this predictor holds no network: use with_model first")
        return predict_prepared(self.network, prepared, self.inference)

    def predict(self, image: np.ndarray, name: str = "") -> np.ndarray:
        """HxWxK float32 probabilities at the photograph's own size; `name` is for warnings."""
        return to_original(self.predict_prepared(self.prepare(image, name)), *image.shape[:2])
