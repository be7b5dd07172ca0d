"""What a training run was made with, stored whole in its checkpoints' state.json.

Every setting must be the same when a run resumes, but those marked free here (where the data are,
how many epochs, how many workers, what is logged): so a flag added to train.py later is checked by
default, and no hand-kept list of the keys to compare can miss one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# may differ on resume: where things are, how long, how many processes and threads, what is logged;
# the learning rate and Adam's betas (the optimizer's own state comes from the checkpoint); the input
# path (tf.data and numpy give the same batches)
FREE_ON_RESUME = frozenset({"data", "checkpoints", "epochs", "learning_rate", "beta_1", "beta_2", "workers",
                            "keep_last", "preview_patches", "logical_cpus", "threads", "fresh", "tensorboard",
                            "input", "input_threads", "max_minutes"})


def _plain(value: Any) -> Any:
    """As JSON stores it, so a stored config compares equal to a rebuilt one."""
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


@dataclass(frozen=True)
class TrainConfig:
    settings: tuple[tuple[str, Any], ...]  # (name, value) in train.py's order, then what the run adds

    @classmethod
    def of(cls, settings: Mapping[str, Any]) -> TrainConfig:
        return cls(tuple((k, _plain(v)) for k, v in settings.items()))

    def as_dict(self) -> dict[str, Any]:
        return dict(self.settings)

    def must_match(self) -> dict[str, Any]:
        return {k: v for k, v in self.settings if k not in FREE_ON_RESUME}

    def mismatches(self, stored: Mapping[str, Any]) -> list[str]:
        """What differs from a stored config among the fields a resume must match; a field the stored
        run did not have yet is not compared (it was made with that field's default)."""
        return [f"{k}: checkpoint {stored[k]!r}, now {v!r}" for k, v in self.must_match().items()
                if k in stored and stored[k] != v]
