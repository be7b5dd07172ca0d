"""Shared fixtures: small synthetic datasets the project generates itself."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
SHARED_DATA = ROOT.parent / "shared" / "data"

import make_demo_data  # noqa: E402

SMALL = "1100x700"  # 2 x 3 grid of 512 patches: quick, yet with overlaps and snapped edges


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
