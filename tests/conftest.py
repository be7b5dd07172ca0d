"""Shared fixtures: small synthetic datasets the project generates itself."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import make_demo_data
from lesionseg.quiet import quiet_tensorflow

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
quiet_tensorflow()

SMALL = "1100x700"  # 2 x 3 grid of 512 patches: quick, yet with overlaps and snapped edges


@pytest.fixture(scope="session", autouse=True)
def export_cache(tmp_path_factory) -> Path:
    """Exports made by infer.py for models without one (lesionseg.export.ensure_export) go here, never
    to the user's own cache; the processes a test starts inherit it."""
    from lesionseg.engines import CACHE_ENV

    folder = tmp_path_factory.mktemp("export-cache")
    os.environ[CACHE_ENV] = str(folder)
    return folder


@pytest.fixture(scope="session")
def raw_idrid(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("raw") / "IDRiD"
    make_demo_data.main(["--out", str(out), "--n-images", "6", "--size", SMALL, "--workers", "1"])
    return out


@pytest.fixture
def raw_copy(raw_idrid, tmp_path) -> Path:
    """A private copy a test may damage."""
    dst = tmp_path / "IDRiD"
    shutil.copytree(raw_idrid, dst)
    return dst


def idrid_dirs(raw: Path, split: str = "a. Training Set") -> tuple[Path, Path]:
    root = raw / "A. Segmentation"
    return root / "1. Original Images" / split, root / "2. All Segmentation Groundtruths" / split / "3. Hard Exudates"


def tiny_workspace(root: Path, n_images: int = 5, patch: int = 64) -> Path:
    """Small synthetic images cut into 64 px patches: enough to train a tiny U-Net in seconds."""
    import numpy as np
    from PIL import Image

    import extract_patches
    import gt_binary
    import traintest_split
    from lesionseg.synthetic import fundus

    raw = root / "raw"
    (raw / "images").mkdir(parents=True)
    (raw / "masks").mkdir()
    for i in range(n_images):
        img, mask = fundus(320, 224, seed=100 + i, n_clusters=4)
        Image.fromarray(img).save(raw / "images" / f"im{i}.png")
        Image.fromarray(mask.astype(np.uint8) * 255).save(raw / "masks" / f"im{i}.png")
    ws = root / "ws"
    gt_binary.main(["--raw", str(raw), "--data", str(ws), "--workers", "1"])
    extract_patches.main(["--data", str(ws), "--patch-size", str(patch), "--stride", str(patch // 2), "--workers", "1"])
    traintest_split.main(["--data", str(ws), "--test-fraction", "0.2", "--val-fraction", "0.25"])
    return ws


@pytest.fixture(scope="session")
def tiny_ws(tmp_path_factory) -> Path:
    return tiny_workspace(tmp_path_factory.mktemp("tiny"))


def check_stored_prep(prep, bad: list[dict], match: str) -> None:
    """A preparation setting survives its model's bundle (JSON), and each of `bad` is refused by name."""
    import json

    from lesionseg.errors import PipelineError
    from lesionseg.prep import Prep

    assert Prep.from_dict(json.loads(json.dumps(prep.as_dict(full=True)))) == prep
    for settings in bad:
        with pytest.raises(PipelineError, match=match):
            Prep(**settings)


def bench_module(name: str):
    """A script of bench/ loaded as a module (bench/ is not a package), to call its functions."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def extract_copy(tiny_ws: Path, ws: Path, *flags: str):
    """extract_patches.py run with `flags` on a copy of the tiny workspace at `ws`: the Prep it stored."""
    import extract_patches
    from lesionseg.prep import PREP_FILE, Prep

    shutil.copytree(tiny_ws, ws)
    extract_patches.main(["--data", str(ws), "--patch-size", "64", "--stride", "32", "--workers", "1", *flags])
    return Prep.read(ws / "patches" / PREP_FILE)


def train_tiny(ws: Path, folder: Path, *extra: str) -> Path:
    """A 4-filter, 3-level U-Net trained for seconds on a tiny workspace, into `folder`."""
    import train

    train.main(["--data", str(ws), "--checkpoints", str(folder), "--base-filters", "4", "--depth", "3",
                "--batch-size", "4", "--no-tensorboard", *extra])
    return folder


def ship_as(trained: Path, root: Path, name: str, code: str, threshold: float, **prep) -> None:
    """A copy of a trained model shipped under `name` as a model of structure `code`."""
    import shutil
    from dataclasses import replace

    from lesionseg.bundle import Bundle, Threshold

    dest = root / name
    dest.mkdir(parents=True)
    shutil.copy(trained / "model.keras", dest / "model.keras")
    b = Bundle.read(trained)
    replace(b, lesions=(code,), prep=replace(b.prep, **prep),
            thresholds={code: Threshold(threshold, "max_dice", "validation images (2)")}).write(dest)


# train.py at a tiny size, and with the CPU recipe's kind of settings (crops, Dice, cosine, whole-image selection)
TINY = ["--base-filters", "4", "--depth", "3", "--batch-size", "4", "--no-tensorboard", "--learning-rate", "3e-3"]
RECIPE = ["--sampling", "crops", "--lesion-crop-share", "0.6", "--loss", "wbce_dice", "--lr-schedule", "cosine",
          "--warmup-steps", "3", "--steps-per-epoch", "4", "--val-aupr-every", "2", "--workers", "1"]


def train_command(ws: Path, ck: Path, *extra: str) -> list[str]:
    """train.py as a user runs it, in its own process (so that it can be killed)."""
    return [sys.executable, str(ROOT / "train.py"), "--data", str(ws), "--checkpoints", str(ck), *TINY, *extra]


def run_until_killed(command: list[str], ck: Path, after_epoch: int, limit_s: float = 1200) -> None:
    """Start a training run and SIGKILL it somewhere inside the epoch after `after_epoch`. A loaded
    machine may take minutes for an epoch, so it waits long; a kill that did not land mid-run fails
    here, saying so, rather than as a missing 'resuming' later."""
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state, reached = ck / "state.json", False
    deadline = time.time() + limit_s
    while time.time() < deadline and proc.poll() is None:
        if state.is_file() and json.loads(state.read_text())["epoch"] >= after_epoch:
            reached = True
            time.sleep(0.3)  # somewhere inside the next epoch
            break
        time.sleep(0.05)
    finished = proc.poll() is not None
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert reached and not finished, (f"the kill did not land inside epoch {after_epoch + 1}: "
                                      f"{'the run had ended' if finished else 'no epoch had ended in time'}")


def weights(path: Path) -> list:
    from lesionseg.checkpoints import load_trained

    return load_trained(path).get_weights()
