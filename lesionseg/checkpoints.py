"""The checkpoints folder: per-epoch model files (optimizer included), the best one, the exported
model, and state.json that says which epoch a resume continues from. Every file is written under a
temporary name and renamed, so a kill at any moment leaves a consistent folder."""

from __future__ import annotations

import json
import math
import os
import time
import zipfile
from pathlib import Path
from typing import Any

import keras

from .errors import PipelineError, warn
from .imageio import atomic_path

STATE = "state.json"
EXPORT = "model.keras"
BEST = "best.keras"
# what picks the best epoch, and which way is better
MONITORS = {"val_loss": min, "val_aupr": max, "val_jaccard": max, "loss": min}


def save_model(model: keras.Model, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.stem}.tmp-{os.getpid()}.keras")  # Keras insists on the suffix
    try:
        model.save(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_json(obj: Any, path: Path) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True))


def read_state(folder: Path) -> dict | None:
    path = folder / STATE
    if not path.is_file():
        return None
    try:
        state = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise PipelineError(f"{path}: unreadable ({exc}); start over with --fresh") from None
    if not (folder / state.get("checkpoint", "")).is_file():
        raise PipelineError(f"{path}: names {state.get('checkpoint')} which is missing; start over with --fresh")
    return state


def check_config(state: dict, config, folder: Path) -> None:
    """Resuming with another configuration (a TrainConfig) would silently train something else: refuse."""
    diff = config.mismatches(state.get("config", {}))
    if diff:
        raise PipelineError(f"{folder}: the checkpoint was trained with another configuration ({'; '.join(diff)}); "
                            "pass the same flags to resume, or --fresh to start over")


def set_aside(folder: Path) -> Path | None:
    """--fresh: move earlier contents to previous-<time>/ rather than deleting them."""
    items = [p for p in folder.iterdir() if not p.name.startswith("previous-") and p.name != "README.md"] \
        if folder.is_dir() else []
    if not items:
        return None
    dest = folder / time.strftime("previous-%Y%m%d-%H%M%S")
    dest.mkdir()
    for p in items:
        os.replace(p, dest / p.name)
    return dest


class EpochCheckpoint(keras.callbacks.Callback):
    """After each finished epoch: checkpoint, prune, best model and export, then state.json last."""

    def __init__(self, folder: Path, config: dict, keep_last: int, state: dict | None, on_epoch=None,
                 monitor: str = "val_loss", stop_after_s: float = 0.0):
        super().__init__()
        self.folder, self.config, self.keep_last, self.monitor = folder, config, keep_last, monitor
        self.stop_after_s = stop_after_s  # > 0: stop after the epoch that passes this training time (it resumes)
        self.timed_out = False
        worst = math.inf if MONITORS[monitor] is min else -math.inf
        self.state = state or {"best_epoch": None, "wall_seconds": 0.0}
        self.state.setdefault(f"best_{monitor}", worst)
        self.on_epoch = on_epoch or (lambda model, epoch, logs, wall: None)
        self.bad_loss: str | None = None

    def on_train_begin(self, logs=None):
        self.t0 = time.perf_counter()
        self.wall0 = self.state.get("wall_seconds", 0.0)

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.bad_loss = f"loss became {float(loss)} in batch {batch + 1} of epoch {self.epoch + 1}"
            self.model.stop_training = True

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        if self.bad_loss or not all(math.isfinite(float(v)) for v in logs.values()):
            self.bad_loss = self.bad_loss or f"a non-finite figure at the end of epoch {epoch + 1}: {logs}"
            self.model.stop_training = True
            return
        wall = self.wall0 + time.perf_counter() - self.t0
        name = f"epoch_{epoch + 1:03d}.keras"
        save_model(self.model, self.folder / name)
        val = logs.get(self.monitor)
        if val is not None:
            key = f"best_{self.monitor}"
            if MONITORS[self.monitor](float(val), self.state[key]) != self.state[key]:
                self.state.update({key: float(val), "best_epoch": epoch + 1})
                save_model(self.model, self.folder / BEST)
                save_model(self.model, self.folder / EXPORT)
        self.on_epoch(self.model, epoch + 1, logs, wall)
        self.state.update(epoch=epoch + 1, checkpoint=name, config=self.config, wall_seconds=wall)
        write_json(self.state, self.folder / STATE)
        for old in sorted(self.folder.glob("epoch_*.keras"))[: -self.keep_last]:
            old.unlink()
        if self.stop_after_s > 0 and wall >= self.stop_after_s and epoch + 1 < self.params.get("epochs", 0):
            self.timed_out = True
            self.model.stop_training = True


def model_file(path: Path) -> Path:
    """The model file of a folder (or the file itself), or a clear refusal when there is none."""
    if path.is_dir():
        path = path / EXPORT
    if not path.is_file():
        raise PipelineError(f"{path}: no trained model here; train one with `python train.py` "
                            "(or pass --checkpoints with the folder that holds model.keras)")
    return path


def load_trained(path: Path) -> keras.Model:
    """A saved model, its custom loss, metric and layers registered; a missing one says how to make it."""
    from . import attention, losses  # noqa: F401  (register WeightedBCE, soft_dice and ChannelPool)

    path = model_file(path)
    if not zipfile.is_zipfile(path):  # Keras would call it "not found"
        again = ("restore it from a copy, or start over with --fresh" if path.name.startswith("epoch_") else
                 f"restore it from a copy (a training run's {BEST} holds the same weights), or train again")
        raise PipelineError(f"{path}: truncated or corrupt ({path.stat().st_size:,} bytes, not a complete .keras "
                            f"archive); {again}")
    try:
        return keras.models.load_model(path)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise PipelineError(f"{path}: cannot load the model ({exc}); it is damaged or from another version") from None


def model_bundle(model: keras.Model, folder: Path, thresholds_optional: bool = False):
    """The settings stored with a model (lesionseg.bundle), checked against the model's outputs: a
    model that predicts other lesions than its bundle says would mislabel them."""
    from .bundle import BUNDLE_FILE, Bundle
    from .model import model_outputs

    bundle = Bundle.read(folder, thresholds_optional)
    if model_outputs(model) != len(bundle.lesions):
        raise PipelineError(f"{folder}: the model has {model_outputs(model)} output(s) but its settings name "
                            f"{len(bundle.lesions)} lesion(s); copy the run's own {BUNDLE_FILE}, or train it again")
    return bundle


def start_from(model: keras.Model, folder: Path, split: dict[str, list[str]] | None = None) -> None:
    """Fine-tuning: a new run's model takes the weights of a trained one (a run or a shipped model
    folder) before its first step; another architecture is refused, not half loaded. `split` (this
    run's, lesionseg.split.split_record): a model that learnt from this run's validation or held-out
    photographs is refused, since the run's figures would then score photographs it was trained on."""
    check_unseen(folder, split or {})
    trained = load_trained(folder)
    theirs, ours = trained.get_weights(), model.get_weights()
    shapes = [w.shape for w in ours], [w.shape for w in theirs]
    if shapes[0] != shapes[1]:
        raise PipelineError(f"{folder}: its model ({trained.count_params():,} parameters) is not this run's "
                            f"({model.count_params():,}); pass the same --base-filters, --depth and lesions to "
                            "start from it")
    model.set_weights(theirs)


LINEAGE = ("command", "data", "config", "training_minutes", "epochs", "best_epoch", "started_from")


def lineage(folder: Path) -> dict:
    """How a starting model was made (its outputs, command and minutes, and what it started from in turn), stored
    with the run that fine-tunes it, so that the chain survives that folder being retrained or re-shipped;
    the sha256 of its weights names the exact model a re-shipped folder held before."""
    from .bundle import Bundle
    from .engines import file_digest

    bundle = Bundle.read(folder)
    made = bundle.provenance
    weights = {"weights_sha256": file_digest(folder / EXPORT)} if (folder / EXPORT).is_file() else {}
    return ({"from": str(folder), "lesions": list(bundle.lesions)} | weights
            | {key: made[key] for key in LINEAGE if key in made})


def check_unseen(folder: Path, split: dict[str, list[str]]) -> None:
    """Refuse a starting model trained on photographs this run validates or holds out; warn when its
    bundle does not record what it was trained on (made before models stored their split)."""
    from .bundle import Bundle

    scored = set(split.get("validation", [])) | set(split.get("held_out", []))
    if not scored:
        return
    learnt = set(Bundle.read(folder).provenance.get("split", {}).get("train", []))
    if not learnt:
        warn(f"{folder}: its bundle does not record the photographs it was trained on; make sure none of this "
             "run's validation and held-out photographs was among them")
        return
    shared = sorted(learnt & scored)
    if shared:
        shown = ", ".join(shared[:5]) + (f" and {len(shared) - 5} more" if len(shared) > 5 else "")
        raise PipelineError(f"{folder}: it was trained on {len(shared)} of this run's validation and held-out "
                            f"photographs ({shown}), so this run's figures would score photographs it learnt; "
                            "start from a model trained without them")
