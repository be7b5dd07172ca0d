"""The model shipped in models/: complete, compact, and it segments a photograph through infer.py."""

import json

import numpy as np
import pytest
from conftest import ROOT
from PIL import Image

import infer
from lesionseg.synthetic import fundus

SHIPPED = ROOT / infer.SHIPPED
pytestmark = pytest.mark.skipif(not (SHIPPED / "model.keras").is_file(), reason=f"{SHIPPED} holds no model")


def test_the_shipped_model_folder_is_complete_and_small():
    names = {p.name for p in SHIPPED.iterdir()}
    assert {"model.keras", "prep.json", "threshold.json", "MODEL_CARD.md"} <= names
    assert (SHIPPED / "model.keras").stat().st_size < 10 * 2**20
    stored = json.loads((SHIPPED / "threshold.json").read_text())
    assert 0 < stored["threshold"] < 1 and stored["inference"]["tta"] is True
    card = (SHIPPED / "MODEL_CARD.md").read_text()
    for needed in ("CC BY 4.0", "Porwal", "make reproduce-idrid", "IDRiD_04", "AUPR-33"):
        assert needed in card


def test_the_shipped_model_finds_synthetic_exudates(tmp_path, capsys):
    image, truth = fundus(1424, 944, seed=7)
    Image.fromarray(image).save(tmp_path / "photo.png")
    out = tmp_path / "out"
    assert infer.main(["--checkpoints", str(tmp_path / "no_model_here"), "--shipped", str(SHIPPED), "--out", str(out),
                       str(tmp_path / "photo.png")]) == 0
    assert f"using the shipped model {SHIPPED}" in capsys.readouterr().out
    mask = np.asarray(Image.open(out / "photo_mask.png")) > 0
    assert mask.shape == truth.shape
    hit = (mask & truth).sum() / truth.sum()
    precision = (mask & truth).sum() / max(mask.sum(), 1)
    assert hit > 0.3 and precision > 0.3, (hit, precision)
