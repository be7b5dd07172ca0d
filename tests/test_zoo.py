"""The model zoo: shipped models listed with their structure, figures and size, and run together by
infer.py --models in one pass, each as it runs alone."""

import json
import shutil
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from conftest import ship_as, train_tiny
from PIL import Image

import infer
from lesionseg import ship, zoo
from lesionseg.bundle import Bundle
from lesionseg.errors import PipelineError


@pytest.fixture(scope="module")
def models(tiny_ws, tmp_path_factory):
    trained = train_tiny(tiny_ws, tmp_path_factory.mktemp("zoo_ck"), "--epochs", "1", "--steps-per-epoch", "4")
    root = tmp_path_factory.mktemp("zoo") / "models"
    ship_as(trained, root, "tiny-he", "HE", 0.4)
    ship_as(trained, root, "tiny-ex", "EX", 0.5, scale=0.5)  # another working scale: prepared on its own
    return root


@pytest.fixture(scope="module")
def photos(tiny_ws):
    return sorted((tiny_ws.parent / "raw" / "images").glob("*.png"))[:2]


def run_infer(models, out, *extra):
    return infer.main(["--zoo", str(models), "--out", str(out), *extra])


def test_several_models_in_one_pass_segment_as_each_does_alone(models, photos, tmp_path):
    assert run_infer(models, tmp_path / "both", "--models", "all", *map(str, photos)) == 0
    both = pd.read_csv(tmp_path / "both" / "areas.csv")
    assert list(both.columns) == ["image", "stem", "fov_pixels", "EX_threshold", "EX_lesion_pixels",
                                  "EX_lesion_percent_of_fov", "HE_threshold", "HE_lesion_pixels",
                                  "HE_lesion_percent_of_fov"]  # `all`: the models by name, tiny-ex first
    assert both.EX_threshold.tolist() == [0.5, 0.5] and both.HE_threshold.tolist() == [0.4, 0.4]
    for name, code in (("tiny-ex", "EX"), ("tiny-he", "HE")):
        alone = tmp_path / name
        assert infer.main(["--checkpoints", str(models / name), "--out", str(alone), *map(str, photos)]) == 0
        rows = pd.read_csv(alone / "areas.csv")
        assert both[f"{code}_lesion_pixels"].tolist() == rows.lesion_pixels.tolist()
        np.testing.assert_allclose(both[f"{code}_lesion_percent_of_fov"], rows.lesion_percent_of_fov)
        for photo in photos:
            for kind in ("prob", "mask"):
                assert (tmp_path / "both" / f"{photo.stem}_{code}_{kind}.png").read_bytes() == \
                    (alone / f"{photo.stem}_{kind}.png").read_bytes()
    # one overlay per photograph, with the legend's black key in its corner
    overlay = np.asarray(Image.open(tmp_path / "both" / f"{photos[0].stem}_overlay.png"))
    assert overlay.shape[:2] == tuple(s // 2 for s in Image.open(photos[0]).size[::-1]) and not overlay[2, 2].any()
    assert not list((tmp_path / "both").glob("*_overlay.png"))[0].name.endswith("_EX_overlay.png")


def test_models_are_picked_by_name_in_the_order_typed(models, photos, tmp_path):
    assert zoo.pick("tiny-he, tiny-ex", models) == [models / "tiny-he", models / "tiny-ex"]
    assert run_infer(models, tmp_path / "o", "--models", "tiny-he,tiny-ex", str(photos[0])) == 0
    assert pd.read_csv(tmp_path / "o" / "areas.csv").columns[3] == "HE_threshold"
    with pytest.raises(PipelineError, match=r"no shipped model tiny-ma; use all, or names from tiny-ex, tiny-he"):
        zoo.pick("tiny-ex,tiny-ma", models)
    with pytest.raises(PipelineError, match="named twice"):
        zoo.pick("tiny-ex,tiny-ex", models)


def test_two_models_of_one_structure_are_refused(models, photos, tmp_path):
    other = tmp_path / "models"
    shutil.copytree(models, other)
    shutil.copytree(other / "tiny-ex", other / "tiny-ex-2")
    with pytest.raises(PipelineError, match=r"EX is segmented by two of the models \(number 1 and 2\)"):
        run_infer(other, tmp_path / "o", "--models", "all", str(photos[0]))
    assert not (tmp_path / "o" / "areas.csv").exists()


def test_the_listing_gives_structure_figures_and_size(models, tmp_path, capsys):
    results = tmp_path / "official"
    results.mkdir()
    figures = {"images": 27, "aupr": 0.87012, "aupr_33": 0.868, "dice": 0.785, "sensitivity": 0.79, "ppv": 0.77}
    (results / "metrics.json").write_text(json.dumps({"test": {"whole_frame": figures}}))
    root = tmp_path / "models"
    shutil.copytree(models, root)
    ship.main(["--name", "tiny-ex", "--models", str(root), "--official", str(results)])
    stored = Bundle.read(root / "tiny-ex").provenance["official_test"]
    assert stored == {"EX": figures}  # as evaluate.py measured them: rounded once, where shown
    card = (root / "tiny-ex" / "MODEL_CARD.md").read_text()  # the card follows, with the published best beside
    assert "| EX | official test (27) | 0.870 | 0.785 | 0.868 | 0.790 | 0.770 |  | AUPR 0.885 (IDRiD challenge" in card
    (root / "tiny-he" / "MODEL_CARD.md").write_text("# written by hand\n")
    ship.main(["--name", "tiny-he", "--models", str(root), "--official", str(_named(tmp_path, "HE"))])
    assert (root / "tiny-he" / "MODEL_CARD.md").read_text() == "# written by hand\n"  # never replaced
    with pytest.raises(PipelineError, match="scores EX, but .*tiny-he segments HE"):
        ship.record(root / "tiny-he", "official_test", _named(tmp_path, "EX"))
    capsys.readouterr()
    assert infer.main(["--zoo", str(root), "--list-models"]) == 0
    listing = capsys.readouterr().out
    assert "AUPR 0.870, Dice 0.785 (27 images)" in listing
    zoo.main(["--models", str(root), "--csv", str(tmp_path / "zoo.csv")])
    table = pd.read_csv(tmp_path / "zoo.csv")
    assert table.model.tolist() == ["tiny-ex", "tiny-he"] and table.structure.tolist() == ["EX", "HE"]
    size = sum(f.stat().st_size for f in (root / "tiny-ex").iterdir()) / 1e6
    assert table.megabytes.iloc[0] == pytest.approx(size, abs=0.05)
    assert table.official_test.tolist() == ["AUPR 0.870, Dice 0.785 (27 images)", "AUPR 0.500, Dice 0.400 (2 images)"]


def _named(tmp_path, code: str):
    """A several-lesion metrics.json that scores `code` only."""
    folder = tmp_path / f"scores-{code}"
    folder.mkdir()
    figures = {"images": 2, "aupr": 0.5, "dice": 0.4}
    (folder / "metrics.json").write_text(json.dumps({"lesions": {code: {"test": {"whole_frame": figures}}}}))
    return folder


def test_the_optic_disc_and_vessels_are_listed_by_their_leaderboards_figures(models, tmp_path, capsys):
    """OD by the mean Jaccard over photographs, DRIVE's vessels by F1 inside the field of view."""
    root = tmp_path / "models"
    for name, code in (("tiny-od", "OD"), ("tiny-vessels", "vessels")):
        ship_as(models / "tiny-ex", root, name, code, 0.5)
    frame = {"images": 20, "aupr": 0.8, "dice": 0.7}
    test = {"whole_frame": frame, "field_of_view": frame | {"dice": 0.8261, "aupr": 0.9104},
            "per_image_mean": frame | {"iou": 0.9123}}
    for name in ("tiny-od", "tiny-vessels"):
        results = tmp_path / name
        results.mkdir()
        (results / "metrics.json").write_text(json.dumps({"test": test}))
        ship.main(["--name", name, "--models", str(root), "--official", str(results)])
    assert Bundle.read(root / "tiny-od").provenance["official_test"]["OD"]["jaccard"] == 0.9123
    capsys.readouterr()
    assert zoo.main(["--models", str(root)]) == 0
    listing = capsys.readouterr().out
    assert "mean Jaccard 0.912, Dice 0.700 (20 images)" in listing
    assert "FOV F1 0.826, FOV AUPR 0.910 (20 images)" in listing
    card = (root / "tiny-vessels" / "MODEL_CARD.md").read_text()
    assert "| structure | images | FOV F1 | FOV AUPR | AUPR-33 |" in card and "Staal et al." in card


def test_a_run_held_out_on_the_layouts_testing_set_ships_official_test_figures(models, tmp_path):
    """A model trained on every official training photograph is scored on the official test set by its
    own evaluate.py run: ship stores those figures as official-test ones, never as held-out ones."""
    from lesionseg.split import scores_testing_set

    ws = tmp_path / "ws"
    ws.mkdir()
    pd.DataFrame({"stem": ["IDRiD_01", "IDRiD_55", "IDRiD_56"], "split": ["train", "test", "test"]}).to_csv(
        ws / "manifest.csv", index=False)
    assert scores_testing_set(ws, ["IDRiD_55", "IDRiD_56"])
    assert not scores_testing_set(ws, ["IDRiD_01", "IDRiD_55"])  # drawn from the training photographs
    assert not scores_testing_set(tmp_path / "gone", ["IDRiD_55"]) and not scores_testing_set(ws, [])
    bundle = Bundle.read(models / "tiny-ex")
    split = {"train": ["IDRiD_01"], "validation": [], "held_out": ["IDRiD_55", "IDRiD_56"]}
    official = replace(bundle, provenance=bundle.provenance | {"data": str(ws), "split": split})
    assert ship.scored_set(official) == "official_test"
    drawn = replace(official, provenance=official.provenance | {"split": split | {"held_out": ["IDRiD_01"]}})
    assert ship.scored_set(drawn) == "held_out"
    # re-shipped after its training workspace was deleted (scored again with other inference settings, in
    # a workspace made again): the workspace its results/ scored says what its held-out photographs were
    gone = replace(official, provenance=official.provenance | {"data": str(tmp_path / "gone")})
    results = tmp_path / "results"
    results.mkdir()
    assert ship.scored_set(gone, results) == "held_out"  # nothing says so
    (results / "metrics.json").write_text(json.dumps({"settings": {"data": str(ws)}}))
    assert ship.scored_set(gone, results) == "official_test"
    (results / "metrics.json").write_text(json.dumps({"settings": {"data": str(tmp_path / "gone too")}}))
    assert ship.scored_set(gone, results) == "held_out"


def test_ship_names_the_structure_of_a_run_whose_workspace_did_not(models, tmp_path):
    ck = tmp_path / "ck"
    ck.mkdir()
    shutil.copy(models / "tiny-ex" / "model.keras", ck / "model.keras")
    made = Bundle.read(models / "tiny-ex")
    replace(made, lesions=("lesion",), thresholds={"lesion": made.thresholds["EX"]}).write(ck)  # as train.py names it
    ship.export(ck, tmp_path / "he", "HE")
    shipped = Bundle.read(tmp_path / "he")
    assert shipped.lesions == ("HE",) and shipped.thresholds == {"HE": made.thresholds["EX"]}
    with pytest.raises(PipelineError, match="segments EX; it cannot be renamed HE"):
        ship.export(models / "tiny-ex", tmp_path / "other", "HE")  # named already: never relabelled
    assert not (tmp_path / "other").exists()


def test_a_zoo_models_card_says_how_to_remake_it_and_what_it_learnt_of_other_cameras(models):
    from lesionseg.card import card

    made = Bundle.read(models / "tiny-ex")
    figures = {"EX": {"images": 27, "aupr": 0.88}}
    prov = made.provenance | {"official_test": figures, "config": {"epochs": 28, "photometric": 5},
                              "split": {"train": ["IDRiD_01"], "held_out": ["IDRiD_55"]}}
    zoo_model = replace(made, prep=replace(made.prep, colour=(161.5, 80.5, 14.5)), provenance=prov)
    text = card("idrid-ex", zoo_model)
    assert "`make zoo-model DATA=/path/to/IDRiD LESION=EX IDRID_EPOCHS=28 PHOTOMETRIC=5`" in text
    assert "scored once (the official test set) on 1 photographs: IDRiD_55" in text
    assert "brought to the training photographs' median and 5 other-camera versions" in text
    dice = replace(zoo_model, provenance=prov | {"config": {"epochs": 26, "photometric": 5, "loss": "wbce_dice"}})
    assert "IDRID_EPOCHS=26 PHOTOMETRIC=5 TRAIN_EXTRA='--loss wbce_dice'`" in card("idrid-ex", dice)
    plain = card("idrid-ex", replace(made, provenance=made.provenance | {"held_out": figures}))
    assert "make zoo-model" not in plain and "It had" not in plain  # a development run, taught nothing of cameras


def test_stems_that_look_like_numbers_stay_text_from_the_split_to_the_card(models, tmp_path):
    """DRIVE's photographs are 01 to 40: read as numbers they lost their zeros, no longer matched the
    manifest (so official-test figures were stored as held-out ones) and broke the card."""
    from lesionseg.card import card
    from lesionseg.split import split_record

    ws = tmp_path / "ws"
    ws.mkdir()
    pd.DataFrame({"source": ["21", "22", "21"]}).to_csv(ws / "train.csv", index=False)
    pd.DataFrame({"stem": ["28"]}).to_csv(ws / "val_images.csv", index=False)
    pd.DataFrame({"stem": ["01", "02"]}).to_csv(ws / "test.csv", index=False)
    pd.DataFrame({"stem": ["01", "02", "21", "22", "28"], "split": ["test", "test", "train", "train", "train"]}).to_csv(
        ws / "manifest.csv", index=False)
    split = split_record(ws)
    assert split == {"train": ["21", "22"], "validation": ["28"], "held_out": ["01", "02"]}
    bundle = Bundle.read(models / "tiny-ex")
    bundle = replace(bundle, provenance=bundle.provenance | {"data": str(ws), "split": split})
    assert ship.scored_set(bundle) == "official_test"
    assert "2 photographs: 01, 02" in card("m", bundle)


def test_a_ship_that_fails_half_way_leaves_the_model_shipped_before(models, tmp_path, capsys):
    root = tmp_path / "models"
    run = tmp_path / "run"
    shutil.copytree(models / "tiny-ex", run / "checkpoints")
    (run / "results").mkdir()
    test = {"whole_frame": {"images": 2, "aupr": 0.5, "aupr_33": 0.5, "dice": 0.4, "sensitivity": 0.4,
                            "specificity": 0.99, "ppv": 0.4}}
    (run / "results" / "metrics.json").write_text(json.dumps({
        "test": test, "threshold": 0.5, "threshold_rule": "max_dice", "threshold_chosen_on": "validation images (2)",
        "lesion_level": {"overlap": 0.2, "at_threshold": {}}}))
    assert ship.main(["--run", str(run), "--name", "m", "--models", str(root)]) == 0
    before = {p.name: p.read_bytes() for p in (root / "m").iterdir()}
    assert "replacing" not in capsys.readouterr().out
    shutil.copy(_named(tmp_path, "MA") / "metrics.json", run / "results" / "metrics.json")  # scores another lesion
    with pytest.raises(PipelineError, match="scores MA, but"):
        ship.main(["--run", str(run), "--name", "m", "--models", str(root)])
    assert {p.name: p.read_bytes() for p in (root / "m").iterdir()} == before  # untouched, not half replaced
    assert [e.name for e in zoo.entries(root)] == ["m"]  # the unfinished copy is not a model
    (run / "results" / "metrics.json").write_text(json.dumps({
        "test": test | {"whole_frame": test["whole_frame"] | {"aupr": 0.6}}, "threshold": 0.5,
        "threshold_rule": "max_dice", "threshold_chosen_on": "validation images (2)",
        "lesion_level": {"overlap": 0.2, "at_threshold": {}}}))
    assert ship.main(["--run", str(run), "--name", "m", "--models", str(root)]) == 0
    assert "replacing the model shipped there" in capsys.readouterr().out
    assert Bundle.read(root / "m").provenance["held_out"]["EX"]["aupr"] == 0.6
    assert (root / "m" / "MODEL_CARD.md").read_text().splitlines()[1] == "# m"  # named as shipped, not as staged
    assert sorted(p.name for p in root.iterdir()) == ["m"]  # no staging or old copy left beside it


def test_stored_figures_round_once_so_the_card_shows_what_evaluate_measured(models, tmp_path):
    """Why: figures stored at 4 decimals were rounded twice on the card (a Dice of 0.49850 became 0.4985,
    then 0.498), so the card and RESULTS.md disagreed in the last digit."""
    from lesionseg.card import figures_table

    dest = tmp_path / "m"
    shutil.copytree(models / "tiny-ex", dest)
    results = tmp_path / "results"
    results.mkdir()
    frame = {"images": 27, "aupr": 0.44152, "aupr_33": 0.45498, "dice": 0.4985002338691105, "sensitivity": 0.585,
             "ppv": 0.43449, "specificity": 0.99862}
    (results / "metrics.json").write_text(json.dumps({"test": {"whole_frame": frame}}))
    bundle = ship.record(dest, "official_test", results)
    stored = bundle.provenance["official_test"]["EX"]
    assert f"{stored['dice']:.3f}" == f"{frame['dice']:.3f}" == "0.499"
    row = next(line for line in figures_table(Bundle.read(dest)) if "official test" in line)
    assert "| 0.499 |" in row and "| 0.455 |" in row and "| 0.442 |" in row
