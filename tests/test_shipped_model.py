"""The model shipped in models/: complete, compact, and it segments a photograph through infer.py."""


import numpy as np
import pytest
from conftest import ROOT
from PIL import Image

import infer
from lesionseg.bundle import Bundle
from lesionseg.synthetic import fundus

SHIPPED = ROOT / infer.SHIPPED
pytestmark = pytest.mark.skipif(not (SHIPPED / "model.keras").is_file(), reason=f"{SHIPPED} holds no model")


def test_the_shipped_model_folder_is_complete_and_small():
    names = {p.name for p in SHIPPED.iterdir()}
    assert {"model.keras", "bundle.json", "MODEL_CARD.md"} <= names and not names & {"prep.json", "threshold.json"}
    assert (SHIPPED / "model.keras").stat().st_size < 10 * 2**20
    stored = Bundle.read(SHIPPED)
    assert stored.lesions == ("EX",) and stored.evaluated and 0 < stored.threshold_values()[0] < 1
    assert stored.inference.tta is True and stored.prep.scale_by == "fov" and stored.provenance["training_minutes"]
    card = (SHIPPED / "MODEL_CARD.md").read_text()
    for needed in ("CC BY 4.0", "Porwal", "make zoo-model", "IDRiD_04", "AUPR-33", "official test (27)"):
        assert needed in card


def test_every_shipped_model_is_under_10_mb_and_all_together_under_50():
    """The zoo travels with the code: each folder holds model.keras and its settings, no export."""
    folders = [d for d in sorted((ROOT / "models").iterdir()) if (d / "bundle.json").is_file()]
    sizes = {d.name: sum(f.stat().st_size for f in d.rglob("*") if f.is_file()) for d in folders}
    assert folders and max(sizes.values()) < 10 * 2**20 and sum(sizes.values()) < 50 * 2**20, sizes
    assert not [d for d in folders if (d / "model.onnx").exists()]  # made once on a user's machine instead


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


def test_one_retina_at_three_camera_resolutions_gets_one_segmentation_by_its_field_of_view():
    """The shipped model rescales each photograph by its field of view, so a 4288, a 2144 and a
    1500 px photograph of the same retina give the same mask; by a plain factor of the photograph's
    size the smaller ones are seen at a fraction of the trained lesion size, and the masks differ."""
    from dataclasses import replace

    import cv2

    from lesionseg.predictor import Predictor

    big, _ = fundus(4288, 2848, seed=7)
    widths = (4288, 2144, 1500)
    photos = [big] + [cv2.resize(big, (w, round(w * 2848 / 4288)), interpolation=cv2.INTER_AREA) for w in widths[1:]]
    threshold = Bundle.read(SHIPPED).threshold_values()[0]
    by_fov = Predictor.load(SHIPPED)
    assert by_fov.prep.scale_by == "fov"
    by_factor = replace(by_fov, bundle=replace(by_fov.bundle, prep=replace(by_fov.prep, scale_by="factor")))
    size = photos[-1].shape[1::-1]

    def masks(predictor: Predictor) -> list[np.ndarray]:
        return [cv2.resize(predictor.predict(p)[..., 0], size, interpolation=cv2.INTER_LINEAR) >= threshold
                for p in photos]

    def ious(ms: list[np.ndarray]) -> list[float]:
        return [(ms[0] & m).sum() / max(1, (ms[0] | m).sum()) for m in ms[1:]]

    fov_ious, factor_ious = ious(masks(by_fov)), ious(masks(by_factor))
    print(f"IoU against the 4288 px photograph's mask, 2144 and 1500 px: by field of view {fov_ious}, "
          f"by factor {factor_ious}")
    assert min(fov_ious) >= 0.9, fov_ious
    assert min(factor_ious) < 0.9, factor_ious
