"""Photometric augmentation as another camera would give it: seeded versions of a training photograph,
each through a random chain of the corruptions of lesionseg.corruptions (light falling off, defocus,
a lower resolution, exposure, gamma, colour temperature and cast, JPEG), before the preparation.

Why before: the preparation (the scale, the light level, CLAHE) is what makes a photograph the
network's input, and it undoes part of what a camera does. A change applied to the prepared crops
would teach the network a darkening that CLAHE never lets through, and miss the one it does. So the
crop sampler holds, beside each prepared training photograph, `variants` prepared versions of it,
and each crop is cut from one of them, drawn from its own seed stream (lesionseg.crops): the flips,
the positions and the colour draws of a run without them do not move, and a resumed run sees the
same crops.

The strengths reach past the strongest of bench/corruptions.py, so the benchmark measures a model
on corruptions of the kind it was trained on: its figures say how far a model resists these, not
what an unseen camera will do (only annotated photographs from that camera can tell that).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from .corruptions import corrupt
from .errors import PipelineError

CHANCE = 0.3  # each corruption's chance to be in a version's chain
# name -> (low, high, log-uniform): each drawn strength; in camera order: optics, exposure and colour, compression
CHAIN: dict[str, tuple[float, float, bool]] = {
    "vignette": (0.1, 0.8, False),
    "blur": (0.5, 5.0, False),
    "low_resolution": (900.0, 2200.0, False),
    "darken": (0.3, 1.2, False),
    "gamma": (0.6, 2.5, True),
    "temperature": (0.05, 0.35, False),
    "cast": (0.05, 0.35, False),
    "jpeg": (8.0, 50.0, False),
}


@dataclass(frozen=True)
class Versions:
    """What a run's photometric versions are: how many of each photograph, from which seed, and the
    steps whose chance differs from CHANCE (train.py --photometric-chance, stored with the run's flags)."""

    count: int = 0
    seed: int = 0
    chances: tuple[tuple[str, float], ...] = ()  # (step, chance) pairs, in CHAIN's order

    def chance(self, name: str) -> float:
        return dict(self.chances).get(name, CHANCE)


def parse_chances(text: str) -> tuple[tuple[str, float], ...]:
    """'jpeg=0.6,blur=0.5' as (step, chance) pairs in CHAIN's order; a clear error for anything else."""
    out = {}
    for item in filter(None, (t.strip() for t in text.split(","))):
        name, _, value = item.partition("=")
        try:
            chance = float(value)
        except ValueError:
            chance = -1.0
        if name not in CHAIN or not 0.0 <= chance <= 1.0:
            raise PipelineError(f"--photometric-chance {item!r}: give STEP=CHANCE with a chance from 0 to 1 and "
                                f"a step among {', '.join(CHAIN)}")
        out[name] = chance
    return tuple((name, out[name]) for name in CHAIN if name in out)


def chain(settings: Versions, stem: str, version: int) -> list[tuple[str, float, int]]:
    """The corruptions (name, strength, seed) of one version of the photograph `stem`: a function of
    the run's seed, the stem (not the photograph's place in a listing) and the version number. A
    step's chance changes only whether it is taken: the draws, and so every other step, stay put."""
    rng = np.random.default_rng([settings.seed, zlib.crc32(stem.encode()), version, 1618])
    steps = []
    for name, (low, high, log) in CHAIN.items():
        take, u, sub = rng.random(), rng.random(), int(rng.integers(2**31))  # drawn for every step: fixed stream
        if take < settings.chance(name):
            value = float(np.exp(np.log(low) + u * (np.log(high) - np.log(low)))) if log else low + u * (high - low)
            steps.append((name, value, sub))
    return steps


def version(rgb: np.ndarray, settings: Versions, stem: str, number: int) -> np.ndarray:
    """Version `number` (1, 2, ...) of an HxWx3 uint8 photograph: its chain applied in order."""
    for name, strength, sub in chain(settings, stem, number):
        rgb = corrupt(rgb, name, strength, sub)
    return rgb


def describe() -> dict:
    """The chain's settings, stored with a run so that a resume with other strengths is refused."""
    return {"chance": CHANCE, "chain": {k: list(v) for k, v in CHAIN.items()}}
