"""Several trained models as one: their probabilities averaged, behind the same Predictor.

Why: two models of the same recipe from other seeds make partly independent errors, and the mean of
their probabilities ranks pixels better than either (the budget split of issue 26: two shorter runs
instead of one long one). An ensemble is a model folder like any other, so evaluate.py chooses its
threshold, infer.py and the bench scripts run it, and lesionseg.ship ships it:

    .venv/bin/python -m lesionseg.ensemble --out runs/drive-pair runs/drive-a/checkpoints runs/drive-b/checkpoints
    .venv/bin/python evaluate.py --data runs/drive-a/data --checkpoints runs/drive-pair --tta

Its bundle.json names the members (members/0, members/1, ...: each a copy of the member's model.keras
and bundle.json) and holds the one preparation, the inference settings and the threshold. Members
must share the lesions, the preparation and, where recorded, the training split: otherwise the
held-out figures of the ensemble would include photographs one member learnt.
"""

from __future__ import annotations

import argparse
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .bundle import BUNDLE_FILE, SINGLE, Bundle
from .engines import Network, logits_each, sigmoid
from .errors import PipelineError, run_cli

MEMBERS = "members"
EPSILON = 1e-6  # probabilities are held within [EPSILON, 1 - EPSILON] before they become logits again


@dataclass
class MeanNetwork:
    """Networks of one input preparation as one Network: the logit of their mean probability."""

    members: list[Network]
    outputs: int = 0
    multiple: int = 0

    def __post_init__(self):
        kinds = {m.outputs for m in self.members}
        if not self.members or len(kinds) != 1:
            raise PipelineError(f"an ensemble needs members with one number of outputs, not {sorted(kinds)}")
        self.outputs = kinds.pop()
        self.multiple = int(np.lcm.reduce([m.multiple for m in self.members]))

    @staticmethod
    def _mean(per_member: list[np.ndarray]) -> np.ndarray:
        p = np.mean([sigmoid(x) for x in per_member], axis=0)
        p = np.clip(p, EPSILON, 1 - EPSILON)
        return (np.log(p) - np.log1p(-p)).astype(np.float32)

    def logits(self, batch: np.ndarray) -> np.ndarray:
        return self._mean([m.logits(batch) for m in self.members])

    def logits_each(self, batches: list[np.ndarray]) -> list[np.ndarray]:
        """Each member runs all the batches its own fastest way (OpenVINO: side by side)."""
        answers = [logits_each(m, batches) for m in self.members]
        return [self._mean(list(per_batch)) for per_batch in zip(*answers, strict=True)]


def member_folders(folder: Path, bundle: Bundle) -> list[Path]:
    """The member folders an ensemble's bundle names, each checked to be there."""
    out = [folder / m for m in bundle.members]
    for path in out:
        if not (path / BUNDLE_FILE).is_file():
            raise PipelineError(f"{path}: a member of the ensemble {folder} is missing; assemble it again "
                                "(python -m lesionseg.ensemble)")
    return out


def model_folders(folder: Path) -> list[Path]:
    """The folders whose model.keras make up `folder`'s model: an ensemble's members, or itself."""
    bundle = Bundle.read(folder, thresholds_optional=True) if (folder / BUNDLE_FILE).is_file() else None
    return member_folders(folder, bundle) if bundle is not None and bundle.members else [folder]


def holds_model(folder: Path) -> bool:
    """A trained model is there: a model.keras, or an ensemble with all of its members'. An unreadable
    bundle.json is said (PipelineError), not taken for "no model"."""
    from .checkpoints import EXPORT

    if (folder / EXPORT).is_file():
        return True
    members = model_folders(folder)
    return members != [folder] and all((f / EXPORT).is_file() for f in members)


def _bundles(folders: list[Path]) -> list[Bundle]:
    """The members' bundles, each checked to match the first's."""
    from .checkpoints import EXPORT

    bundles = []
    for folder in folders:
        b = Bundle.read(folder, thresholds_optional=True) if (folder / BUNDLE_FILE).is_file() else None
        if b is not None and b.members:
            raise PipelineError(f"{folder}: already an ensemble; give its members instead")
        if b is None or not (folder / EXPORT).is_file():
            raise PipelineError(f"{folder / EXPORT}: missing; give the folders of trained models")
        bundles.append(b)
    named = {b.lesions[0] for b in bundles} - {SINGLE} if all(len(b.lesions) == 1 for b in bundles) else set()
    if len(named) == 1:  # a run's one unnamed output beside a shipped model's named one (lesionseg.ship
        # --structure): the same output, so a user's new run can join the model it was trained to stand beside
        bundles = [b.named(*named) for b in bundles]
    first = bundles[0]
    for folder, b in zip(folders[1:], bundles[1:], strict=True):
        for what, mine, theirs in (("lesions", b.lesions, first.lesions), ("preparation", b.prep, first.prep),
                                   ("training split", b.provenance.get("split"), first.provenance.get("split"))):
            if mine != theirs:
                raise PipelineError(f"{folder}: its {what} differs from {folders[0]}'s; the members of an ensemble "
                                    "must be trained from one workspace and split")
    return bundles


def assemble(folders: list[Path], out: Path) -> Bundle:
    """Write the ensemble of the trained models in `folders` to `out` (refused if it exists): a copy of
    each member and a bundle without a threshold, which evaluate.py then chooses."""
    from .checkpoints import EXPORT
    from .imageio import atomic_path

    if len(folders) < 2:
        raise PipelineError("an ensemble needs at least two models")
    if out.exists():
        raise PipelineError(f"{out}: already exists; give a new folder (or remove it)")
    bundles = _bundles(folders)
    first = bundles[0]
    names = tuple(f"{MEMBERS}/{i}" for i in range(len(folders)))
    provenance = {"members": [{"from": str(f)} | b.provenance for f, b in zip(folders, bundles, strict=True)],
                  "data": first.provenance.get("data", ""), "split": first.provenance.get("split", {}),
                  "training_minutes": round(sum(float(b.provenance.get("training_minutes", 0)) for b in bundles), 1)}
    bundle = replace(first, thresholds={}, exports={}, provenance=provenance, members=names)
    with atomic_path(out) as tmp:
        for folder, member, name in zip(folders, bundles, names, strict=True):
            dest = tmp / name
            dest.mkdir(parents=True)
            shutil.copy2(folder / EXPORT, dest / EXPORT)
            replace(member, exports={}).write(dest)
        bundle.write(tmp)
    return bundle


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("members", type=Path, nargs="+", help="the trained models' folders (checkpoints/ or models/<name>)")
    ap.add_argument("--out", type=Path, required=True, help="the ensemble's new folder")
    args = ap.parse_args(argv)
    bundle = assemble(args.members, args.out)
    print(f"wrote {args.out}: {len(bundle.members)} members averaged; choose its threshold with evaluate.py "
          f"--checkpoints {args.out}")
    return 0


if __name__ == "__main__":
    run_cli(main)
