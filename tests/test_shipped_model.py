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
    # Every synthetic exudate is marked, and the mask stays a small part of the photograph. (The
    # synthetic optic disc, a flat bright circle unlike a real one, is marked too: about 1.7% of
    # the frame for this seed, so precision on this image says nothing about real photographs.)
    hit = (mask & truth).sum() / truth.sum()
    assert hit > 0.9 and mask.mean() < 0.03, (hit, mask.mean())
