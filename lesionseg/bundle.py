"""A model folder's settings in one file, bundle.json beside model.keras, read and written by one
class (as a MONAI bundle's metadata.json describes its weights): which lesion each output is, how a
photograph is prepared, how whole images are predicted, each lesion's threshold with the rule and
images it was chosen on, where the model came from, and for an ensemble its members' folders.

Folders in the earlier format (prep.json, and threshold.json once evaluated) are read and upgraded:
the next stage that stores something writes bundle.json.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .errors import PipelineError, warn
from .predict import Inference
from .prep import Prep

BUNDLE_FILE = "bundle.json"
FORMAT = 1
LEGACY_PREP, LEGACY_THRESHOLD = "prep.json", "threshold.json"
SINGLE = "lesion"  # the name of a one-output model's lesion when its workspace did not say
DEFAULT_THRESHOLD = 0.5


def _inference(raw: dict[str, Any]) -> Inference:
    """Stored inference settings; a key this version does not know is passed over."""
    names = {f.name for f in fields(Inference)}
    return Inference(**{k: v for k, v in raw.items() if k in names})


@dataclass(frozen=True)
class Threshold:
    value: float
    rule: str  # max_dice | fp_budget | fixed (evaluate.py's THRESHOLD_RULE)
    chosen_on: str  # e.g. "validation images (9)"


@dataclass(frozen=True)
class Bundle:
    lesions: tuple[str, ...]  # the outputs, in order: always at least one
    prep: Prep  # preparation; its own `lesions` is () for one output, as the workspace stores it
    inference: Inference = Inference()  # the settings the thresholds were chosen under
    thresholds: dict[str, Threshold] = field(default_factory=dict)  # per lesion; empty until evaluated
    provenance: dict[str, Any] = field(default_factory=dict)  # command, data, images, training minutes
    exports: dict[str, Any] = field(default_factory=dict)  # e.g. "onnx": its file, and the model.keras it is of
    members: tuple[str, ...] = ()  # an ensemble's member folders, relative to its own (lesionseg.ensemble)

    def __post_init__(self):
        if not self.lesions:
            raise PipelineError("a model bundle names at least one lesion")
        if self.prep.lesions and tuple(self.prep.lesions) != tuple(self.lesions):
            raise PipelineError(f"bundle lesions {self.lesions} differ from its preparation's {self.prep.lesions}")
        unknown = set(self.thresholds) - set(self.lesions)
        if unknown:
            raise PipelineError(f"thresholds for {', '.join(sorted(unknown))}, which the model does not predict")

    @classmethod
    def for_prep(cls, prep: Prep, single: str = SINGLE, **kwargs: Any) -> Bundle:
        return cls(prep.lesions or (single,), prep, **kwargs)

    def named(self, code: str) -> Bundle:
        """A one-output model whose workspace did not name its structure, named `code` (its threshold
        follows); a model of several, or one already named otherwise, is refused."""
        if len(self.lesions) != 1 or self.lesions[0] not in (SINGLE, code):
            raise PipelineError(f"the model segments {', '.join(self.lesions)}; it cannot be renamed {code}")
        chosen = self.thresholds.get(self.lesions[0])
        return replace(self, lesions=(code,), thresholds={code: chosen} if chosen else {})

    @property
    def evaluated(self) -> bool:
        """Every lesion has a threshold chosen by evaluate.py."""
        return set(self.thresholds) == set(self.lesions)

    def threshold_values(self) -> list[float]:
        """One threshold per output: the chosen ones, 0.5 where none was chosen."""
        return [self.thresholds[c].value if c in self.thresholds else DEFAULT_THRESHOLD for c in self.lesions]

    def with_thresholds(self, values: list[float], rule: str, chosen_on: str, inference: Inference) -> Bundle:
        """The thresholds evaluate.py chose (one per output, in order) and the settings it chose them under."""
        chosen = {c: Threshold(float(v), rule, chosen_on) for c, v in zip(self.lesions, values, strict=True)}
        return replace(self, thresholds=chosen, inference=inference)

    def as_dict(self) -> dict[str, Any]:
        prep = {k: v for k, v in self.prep.as_dict(full=True).items() if k != "lesions"}  # said once, above
        return {"format": FORMAT, "lesions": list(self.lesions), "prep": prep,
                "inference": asdict(self.inference), "thresholds": {c: asdict(t) for c, t in self.thresholds.items()},
                "provenance": self.provenance, "exports": self.exports} | (
                    {"members": list(self.members)} if self.members else {})

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Bundle:
        if raw.get("format", FORMAT) > FORMAT:
            raise ValueError(f"format {raw['format']} is newer than this version reads ({FORMAT}); update lesionseg")
        lesions = tuple(raw["lesions"])
        prep = Prep.from_dict({k: v for k, v in raw["prep"].items() if k != "lesions"}
                              | ({"lesions": lesions} if len(lesions) > 1 else {}))
        inference = _inference(raw.get("inference", {}))
        thresholds = {c: Threshold(float(t["value"]), str(t["rule"]), str(t["chosen_on"]))
                      for c, t in raw.get("thresholds", {}).items()}
        return cls(lesions, prep, inference, thresholds, dict(raw.get("provenance", {})), dict(raw.get("exports", {})),
                   tuple(str(m) for m in raw.get("members", [])))

    def write(self, folder: Path) -> None:
        from .imageio import atomic_path

        folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(folder / BUNDLE_FILE) as tmp:
            tmp.write_text(json.dumps(self.as_dict(), indent=2) + "\n")

    @classmethod
    def read(cls, folder: Path, thresholds_optional: bool = False) -> Bundle:
        """The folder's bundle.json, or its earlier prep.json + threshold.json upgraded; a folder with
        neither was made before settings were stored: the paper's (scale 1, no preprocessing). With
        `thresholds_optional` (the caller has its own) an unreadable threshold.json is only a warning."""
        path = folder / BUNDLE_FILE
        if path.is_file():
            try:
                return cls.from_dict(json.loads(path.read_text()))
            except (json.JSONDecodeError, KeyError, TypeError, ValueError, PipelineError) as exc:
                raise PipelineError(f"{path}: unreadable ({exc}); restore it, or train and evaluate again") from None
        return cls._upgrade(folder, thresholds_optional)

    @classmethod
    def _upgrade(cls, folder: Path, thresholds_optional: bool) -> Bundle:
        bundle = cls.for_prep(Prep.read(folder / LEGACY_PREP))
        path = folder / LEGACY_THRESHOLD
        if not path.is_file():
            return bundle
        try:
            old = json.loads(path.read_text())
            values = old["thresholds"] if "thresholds" in old else {bundle.lesions[0]: old["threshold"]}
            if set(values) != set(bundle.lesions):
                raise PipelineError(f"{path} is for the lesions {', '.join(values)} but the model predicts "
                                    f"{', '.join(bundle.lesions)}; run evaluate.py again")
            inference = _inference(old.get("inference", {}))
            return bundle.with_thresholds([values[c] for c in bundle.lesions], str(old.get("rule", "max_dice")),
                                          str(old.get("chosen_on", "validation images")), inference)
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            if thresholds_optional:
                warn(f"{path}: unreadable ({exc}); its thresholds and settings are not used")
                return bundle
            raise PipelineError(f"{path}: unreadable ({exc}); run evaluate.py again to choose the threshold, "
                                "or pass --threshold") from None
