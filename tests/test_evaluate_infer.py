import json
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, bench_module, train_tiny
from PIL import Image

import evaluate
import infer
import train
from lesionseg.bundle import Bundle
from lesionseg.errors import PipelineError
from lesionseg.imageio import read_csv
from lesionseg.predictor import Predictor


@pytest.fixture(scope="module")
def trained(tiny_ws, tmp_path_factory):
    return train_tiny(tiny_ws, tmp_path_factory.mktemp("ck"), "--epochs", "3", "--learning-rate", "3e-3")


EVAL = ["--patch-size", "64", "--stride", "32", "--overlays", "1"]


@pytest.mark.parametrize("mode", ["faithful", "fast"])
def test_evaluate_writes_every_output_and_the_figures_agree(tiny_ws, trained, tmp_path, mode):
    res = tmp_path / "res"
    evaluate.main(["--data", str(tiny_ws), "--checkpoints", str(trained), "--results", str(res), "--mode", mode,
                   *EVAL])
    m = json.loads((res / "metrics.json").read_text())
    test = read_csv(tiny_ws / "test.csv", ["stem"], "")
    assert m["threshold_chosen_on"].startswith("validation images")
    for name in ("froc.png", "pr.png", "lesion_froc.png", "per_image.csv", "froc.csv"):
        assert (res / name).stat().st_size > 100
    assert sorted(p.stem for p in (res / "probabilities").glob("*.png")) == sorted(test.stem)
    assert len(list((res / "overlays").glob("*.png"))) == 1
    # per-image counts add up to the set figures at the chosen threshold
    per = pd.read_csv(res / "per_image.csv")
    frame = m["test"]["whole_frame"]
    assert per.tp.sum() == frame["tp"] and per.fp.sum() == frame["fp"] and per.fn.sum() == frame["fn"]
    with_lesion = per[per.lesion_pixels > 0]
    assert m["test"]["per_image_mean"] == pytest.approx(
        {"images": len(with_lesion), "dice": with_lesion.dice.mean(), "iou": with_lesion.iou.mean()})
    assert 0 <= frame["aupr"] <= 1 and frame["sensitivity"] == pytest.approx(frame["tp"] / (frame["tp"] + frame["fn"]))
    # the probability PNG is the map that was scored
    stem = test.stem.iloc[0]
    prob = np.asarray(Image.open(res / "probabilities" / f"{stem}.png")) / 255
    truth = np.asarray(Image.open(tiny_ws / "masks" / f"{stem}.png")) > 0
    t = m["threshold"]
    row = per.set_index("stem").loc[stem]
    # 8-bit rounding moves a probability by at most 1/510: only pixels that close to t may flip
    surely = int(((prob >= t + 1 / 510) & truth).sum())
    maybe = int(((prob >= t - 1 / 510) & truth).sum())
    assert surely <= row.tp <= maybe
    stored = Bundle.read(trained)
    assert stored.threshold_values() == [t] and stored.thresholds["lesion"].chosen_on == m["threshold_chosen_on"]
    assert stored.inference.mode == mode


def test_infer_uses_the_stored_threshold_and_reports_bad_images(tiny_ws, trained, tmp_path):
    evaluate.main(["--data", str(tiny_ws), "--checkpoints", str(trained), "--results", str(tmp_path / "r"), *EVAL])
    t = Bundle.read(trained).threshold_values()[0]
    folder = tmp_path / "in"
    folder.mkdir()
    src = sorted((tiny_ws.parent / "raw" / "images").glob("*.png"))[:2]
    for p in src:
        (folder / p.name).write_bytes(p.read_bytes())
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
    (folder / ".DS_Store").write_bytes(b"\0")
    out = tmp_path / "out"
    code = infer.main(["--checkpoints", str(trained), "--out", str(out), "--mode", "fast", str(folder)])
    assert code == 1  # the broken image makes the run fail at the end, after the others are done
    areas = pd.read_csv(out / "areas.csv")
    assert list(areas.stem) == [p.stem for p in src] and (areas.threshold == t).all()
    for stem in areas.stem:
        prob = np.asarray(Image.open(out / f"{stem}_prob.png")) / 255
        mask = np.asarray(Image.open(out / f"{stem}_mask.png"))
        assert set(np.unique(mask)) <= {0, 255}
        assert (mask == 255).sum() == areas.set_index("stem").loc[stem, "lesion_pixels"]
        assert ((prob > t + 0.01) <= (mask == 255)).all()
    code = infer.main(["--checkpoints", str(trained), "--out", str(out), "--threshold", "0.99", str(src[0])])
    assert code == 0 and pd.read_csv(out / "areas.csv").threshold.iloc[0] == 0.99


def test_missing_model_or_input_is_named(tmp_path, trained):
    with pytest.raises(PipelineError, match="no trained model here; train one with `python train.py`"):
        infer.main(["--checkpoints", str(tmp_path), "--shipped", str(tmp_path / "no_shipped_model"), str(tmp_path)])
    res = subprocess.run([sys.executable, "infer.py", "--checkpoints", str(trained), str(tmp_path / "x.jpg")],
                         cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 2 and "x.jpg: no such file or folder" in res.stderr


def test_a_half_scale_model_is_scored_and_applied_at_the_original_size(tiny_ws, tmp_path):
    import shutil

    import extract_patches
    import traintest_split

    ws = tmp_path / "ws"
    shutil.copytree(tiny_ws, ws, ignore=shutil.ignore_patterns("patches"))
    extract_patches.main(["--data", str(ws), "--scale", "0.5", "--patch-size", "32", "--stride", "16",
                          "--preprocess", "clahe", "--workers", "1"])
    traintest_split.main(["--data", str(ws), "--test-fraction", "0.2", "--val-fraction", "0.25"])
    ck = tmp_path / "ck"
    train.main(["--data", str(ws), "--checkpoints", str(ck), "--base-filters", "4", "--depth", "3",
                "--batch-size", "4", "--epochs", "2", "--steps-per-epoch", "5", "--sampling", "crops",
                "--workers", "1", "--no-tensorboard"])
    from lesionseg.prep import Prep

    assert sorted(p.name for p in ck.glob("*.json")) == ["bundle.json", "state.json"]  # one file of settings
    assert Bundle.read(ck).prep == Prep(0.5, 0.5, "clahe") and not Bundle.read(ck).evaluated
    res = tmp_path / "res"
    evaluate.main(["--data", str(ws), "--checkpoints", str(ck), "--results", str(res), "--tta", "--overlays", "0"])
    stored = Bundle.read(ck)
    assert stored.prep.scale == 0.5 and stored.inference.tta is True and stored.evaluated
    stems = read_csv(ws / "test.csv", ["stem"], "").stem
    prob = Image.open(res / "probabilities" / f"{stems.iloc[0]}.png")
    assert prob.size == (320, 224)  # the original size, though the network ran at 160x112
    frame = json.loads((res / "metrics.json").read_text())["test"]["whole_frame"]
    lesion = sum(int((np.asarray(Image.open(ws / "masks" / f"{s}.png")) > 0).sum()) for s in stems)
    assert frame["tp"] + frame["fn"] == lesion  # counted against the original masks
    out = tmp_path / "out"
    src = sorted((tiny_ws.parent / "raw" / "images").glob("*.png"))[0]
    assert infer.main(["--checkpoints", str(ck), "--out", str(out), str(src)]) == 0
    assert Image.open(out / f"{src.stem}_prob.png").size == (320, 224)


def test_infer_applies_the_settings_the_threshold_was_chosen_under(tiny_ws, trained, tmp_path, capsys):
    from lesionseg.imageio import resolve

    res = tmp_path / "res"
    evaluate.main(["--data", str(tiny_ws), "--checkpoints", str(trained), "--results", str(res), "--mode",
                   "faithful", "--patch-size", "64", "--stride", "32", "--tta", "--overlays", "0",
                   "--engine", "tensorflow"])
    row = read_csv(tiny_ws / "test.csv", ["stem", "image"], "").iloc[0]
    out = tmp_path / "out"
    assert infer.main(["--checkpoints", str(trained), "--out", str(out), "--engine", "tensorflow",
                       str(resolve(row.image, tiny_ws))]) == 0
    # byte for byte (both on one engine): mode, patch grid and TTA came from the bundle, not infer.py's defaults
    assert (out / f"{row.stem}_prob.png").read_bytes() == (res / "probabilities" / f"{row.stem}.png").read_bytes()
    capsys.readouterr()
    infer.main(["--checkpoints", str(trained), "--out", str(tmp_path / "o2"), "--no-tta",
                str(resolve(row.image, tiny_ws))])
    assert "chosen under other settings (tta)" in capsys.readouterr().err
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(trained, broken)
    (broken / "bundle.json").write_text("{broken")
    with pytest.raises(PipelineError, match=r"bundle\.json: unreadable .*train and evaluate again"):
        infer.main(["--checkpoints", str(broken), "--out", str(out), str(resolve(row.image, tiny_ws))])


def test_a_shipped_model_is_compact_and_infer_falls_back_to_it(tiny_ws, trained, tmp_path, capsys):
    from lesionseg import ship

    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / "model.keras").write_bytes((trained / "model.keras").read_bytes())
    made = Bundle.read(trained)
    Bundle.for_prep(made.prep, provenance=made.provenance).write(run / "checkpoints")  # trained, not evaluated
    with pytest.raises(PipelineError, match="no threshold chosen yet; train and evaluate the run"):
        ship.main(["--run", str(run), "--name", "m", "--models", str(tmp_path / "models")])
    evaluate.main(["--data", str(tiny_ws), "--checkpoints", str(run / "checkpoints"), "--results",
                   str(run / "results"), *EVAL])
    ship.main(["--run", str(run), "--name", "m", "--models", str(tmp_path / "models")])
    shipped = tmp_path / "models" / "m"
    assert sorted(p.name for p in shipped.iterdir()) == ["MODEL_CARD.md", "bundle.json", "figures.md", "model.keras"]
    stored = Bundle.read(shipped)
    run_bundle = Bundle.read(run / "checkpoints")
    assert replace(stored, exports={}, provenance=run_bundle.provenance) == run_bundle
    frame = json.loads((run / "results" / "metrics.json").read_text())["test"]["whole_frame"]
    held_out = stored.provenance["held_out"]["lesion"]  # the figures the zoo lists
    assert held_out["images"] == frame["images"] and held_out["aupr"] == frame["aupr"]  # as measured
    assert Predictor.load(shipped).engine == "tensorflow"  # no export shipped (half the size) ...
    from lesionseg.checkpoints import load_trained

    assert getattr(load_trained(shipped), "optimizer", None) is None  # no Adam moments (2x the weights)
    assert (shipped / "model.keras").stat().st_size < (trained / "model.keras").stat().st_size
    assert "AUPR-33" in (shipped / "figures.md").read_text()
    card = (shipped / "MODEL_CARD.md").read_text()  # written from the bundle: figures, images, command
    assert f"| lesion | held out ({frame['images']}) | {frame['aupr']:.3f} |" in card
    assert f"trained on {len(stored.provenance['split']['train'])} photographs: " in card
    assert stored.provenance["command"] in card and "a unet network of 4 filters x 3 levels" in card
    image = sorted((tiny_ws.parent / "raw" / "images").glob("*.png"))[0]
    capsys.readouterr()
    settings = (shipped / "bundle.json").read_bytes()
    assert infer.main(["--checkpoints", str(tmp_path / "none"), "--shipped", str(shipped), "--out",
                       str(tmp_path / "a"), str(image)]) == 0
    said = capsys.readouterr().out
    assert f"using the shipped model {shipped}" in said and "making its ONNX export" in said
    # ... infer.py made it once, in the export cache: the shipped folder is as it was, a faster engine runs it
    assert sorted(p.name for p in shipped.iterdir()) == ["MODEL_CARD.md", "bundle.json", "figures.md", "model.keras"]
    assert (shipped / "bundle.json").read_bytes() == settings and Predictor.load(shipped).engine != "tensorflow"
    infer.main(["--checkpoints", str(tmp_path / "none"), "--shipped", str(shipped), "--out", str(tmp_path / "c"),
                str(image)])
    assert "making its ONNX export" not in capsys.readouterr().out  # once
    infer.main(["--checkpoints", str(run / "checkpoints"), "--out", str(tmp_path / "b"), str(image)])
    # same weights, same settings: the shipped model segments exactly as the run it came from
    assert (tmp_path / "a" / f"{image.stem}_prob.png").read_bytes() == \
        (tmp_path / "b" / f"{image.stem}_prob.png").read_bytes()


def test_infer_refuses_two_images_whose_outputs_share_a_name(trained, tmp_path):
    src = sorted((ROOT / "tests").glob("*.py"))[0]  # any file: the refusal comes before any image is read
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "same.jpg").write_bytes(src.read_bytes())
    out = tmp_path / "out"
    with pytest.raises(PipelineError, match=r"a/same\.jpg and .*b/same\.jpg would both write same_prob\.png"):
        infer.main(["--checkpoints", str(trained), "--out", str(out), str(tmp_path / "a"), str(tmp_path / "b")])
    assert not out.exists()


def test_infer_segments_a_file_named_twice_once(trained, tiny_ws, tmp_path):
    image = sorted((tiny_ws.parent / "raw" / "images").glob("*.png"))[0]
    out = tmp_path / "out"
    assert infer.main(["--checkpoints", str(trained), "--out", str(out), "--threshold", "0.5", str(image),
                       str(image.parent), str(image)]) == 0
    stems = list(pd.read_csv(out / "areas.csv").stem)
    assert sorted(stems) == sorted(p.stem for p in image.parent.glob("*.png")) and len(set(stems)) == len(stems)


@pytest.mark.parametrize("name", ["model.keras", "epoch_003.keras"])
def test_a_truncated_model_file_is_called_truncated(trained, tiny_ws, tmp_path, name):
    import shutil

    ck = tmp_path / "ck"
    shutil.copytree(trained, ck)
    data = (ck / name).read_bytes()
    (ck / name).write_bytes(data[: len(data) // 2])
    with pytest.raises(PipelineError) as info:
        if name == "model.keras":
            infer.main(["--checkpoints", str(ck), "--out", str(tmp_path / "o"), str(tmp_path)])
        else:  # the resume reads the checkpoint state.json names
            train.main(["--data", str(tiny_ws), "--checkpoints", str(ck), "--base-filters", "4", "--depth", "3",
                        "--batch-size", "4", "--epochs", "4", "--learning-rate", "3e-3", "--no-tensorboard"])
    message = str(info.value)
    assert f"{name}: truncated or corrupt" in message and "not found" not in message.lower()
    assert ("--fresh" in message) == name.startswith("epoch_")


def test_a_typed_threshold_gets_past_a_corrupt_threshold_file(trained, tiny_ws, tmp_path, capsys):
    import shutil

    ck = tmp_path / "ck"
    shutil.copytree(trained, ck)
    (ck / "bundle.json").unlink()  # a folder in the earlier format, its threshold.json damaged
    Bundle.read(trained).prep.write(ck / "prep.json")
    (ck / "threshold.json").write_text("{broken")
    image = sorted((tiny_ws.parent / "raw" / "images").glob("*.png"))[0]
    assert infer.main(["--checkpoints", str(ck), "--out", str(tmp_path / "o"), "--threshold", "0.4", str(image)]) == 0
    assert "threshold.json: unreadable" in capsys.readouterr().err
    assert pd.read_csv(tmp_path / "o" / "areas.csv").threshold.iloc[0] == 0.4


def test_evaluate_stores_the_one_region_rule_and_infer_applies_it(tiny_ws, trained, tmp_path, capsys):
    import shutil

    from lesionseg.card import card
    from lesionseg.imageio import resolve
    from lesionseg.predict import Inference

    ck = tmp_path / "ck"
    shutil.copytree(trained, ck)
    res = tmp_path / "res"
    evaluate.main(["--data", str(tiny_ws), "--checkpoints", str(ck), "--results", str(res), "--largest-component",
                   "--overlays", "0", "--engine", "tensorflow"])
    stored = Bundle.read(ck)
    assert stored.inference.largest_component is True
    assert "only the region of most probability kept" in card("tiny-od", stored)
    row = read_csv(tiny_ws / "test.csv", ["stem", "image"], "").iloc[0]
    src = resolve(row.image, tiny_ws)
    out, off = tmp_path / "out", tmp_path / "off"
    # both on one engine (an earlier test may have exported the shared checkpoints, which evaluate.py's
    # auto would pick): another engine rounds a few probabilities to the next 8-bit level
    assert infer.main(["--checkpoints", str(ck), "--out", str(out), "--engine", "tensorflow", str(src)]) == 0
    assert (out / f"{row.stem}_prob.png").read_bytes() == (res / "probabilities" / f"{row.stem}.png").read_bytes()
    assert Predictor.load(ck).inference.largest_component  # what infer.py runs (the predictor keeps one region)
    capsys.readouterr()
    assert infer.main(["--checkpoints", str(ck), "--out", str(off), "--engine", "tensorflow", "--no-largest-component",
                       str(src)]) == 0
    assert "chosen under other settings (largest_component)" in capsys.readouterr().err
    kept = np.asarray(Image.open(out / f"{row.stem}_prob.png"))
    assert (kept <= np.asarray(Image.open(off / f"{row.stem}_prob.png"))).all()  # the region as it was, else 0
    assert card("tiny-od", replace(stored, inference=Inference())).count("region of most probability") == 0
    holes = card("tiny-od", replace(stored, inference=Inference(fill_holes=True)))  # implies the one region
    assert "region of most probability kept" in holes and "holes filled" in holes


def test_evaluate_stores_its_test_time_scales_and_infer_applies_them(tiny_ws, trained, tmp_path, capsys):
    import shutil

    from lesionseg.imageio import resolve

    ck = tmp_path / "ck"
    shutil.copytree(trained, ck)
    res = tmp_path / "res"
    evaluate.main(["--data", str(tiny_ws), "--checkpoints", str(ck), "--results", str(res), "--tta-scales", "1,1.5",
                   "--overlays", "0", "--engine", "tensorflow"])
    assert Bundle.read(ck).inference.tta_scales == (1.0, 1.5)
    row = read_csv(tiny_ws / "test.csv", ["stem", "image"], "").iloc[0]
    src = resolve(row.image, tiny_ws)
    out, one = tmp_path / "out", tmp_path / "one"
    assert infer.main(["--checkpoints", str(ck), "--out", str(out), "--engine", "tensorflow", str(src)]) == 0
    assert (out / f"{row.stem}_prob.png").read_bytes() == (res / "probabilities" / f"{row.stem}.png").read_bytes()
    capsys.readouterr()
    assert infer.main(["--checkpoints", str(ck), "--out", str(one), "--engine", "tensorflow", "--tta-scales", "1",
                       str(src)]) == 0
    assert "chosen under other settings (tta_scales)" in capsys.readouterr().err
    assert not np.array_equal(np.asarray(Image.open(one / f"{row.stem}_prob.png")),
                              np.asarray(Image.open(out / f"{row.stem}_prob.png")))  # the scales changed the map


def test_the_one_region_benchmark_applies_the_flips_whatever_the_bundle_says(tiny_ws, trained, tmp_path):
    """Why: a run's bundle has the flips off until evaluate.py --tta stores them, and a candidate benchmarked so
    against a shipped model with them was compared unlike (RESULTS.md, the disc at a quarter of its size)."""
    import shutil

    from lesionseg.predict import Inference

    largest_component = bench_module("largest_component")
    ck = tmp_path / "ck"
    shutil.copytree(trained, ck)
    Bundle.read(ck).with_thresholds([0.5], "fixed", "test", Inference(tta=False)).write(ck)  # as a run leaves it
    tables = {}
    for flag in ("--tta", "--no-tta", None):
        out = tmp_path / str(flag)
        largest_component.main(["--data", str(tiny_ws), "--checkpoints", str(ck), "--out", str(out), "--engine",
                                "tensorflow", "--settings", "largest", *([flag] if flag else [])])
        tables[flag] = pd.read_csv(out / "largest_component.csv")
    pd.testing.assert_frame_equal(tables[None], tables["--tta"])  # the default: the flips, not the bundle's off
    assert not tables["--no-tta"].equals(tables["--tta"])
