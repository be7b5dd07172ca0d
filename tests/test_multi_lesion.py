"""Several lesions in one model: synthetic exudates and haemorrhage-like blots through every stage."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, bench_module, run_until_killed
from PIL import Image

import evaluate
import extract_patches
import gt_binary
import infer
import make_demo_data
import traintest_split
from lesionseg.bundle import Bundle
from lesionseg.checkpoints import load_trained
from lesionseg.errors import PipelineError
from lesionseg.imageio import read_binary_mask
from lesionseg.multi import pack, parse_lesions, parse_weights, per_lesion_weights, unpack
from lesionseg.synthetic import fundus, fundus_lesions
from lesionseg.trainlog import aupr_curves

TINY = ["--base-filters", "4", "--depth", "3", "--batch-size", "4", "--no-tensorboard", "--learning-rate", "3e-3",
        "--sampling", "crops", "--lesion-crop-centre", "lesion", "--steps-per-epoch", "6", "--workers", "1"]


@pytest.fixture(scope="module")
def two_lesion_ws(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("multi")
    raw = root / "IDRiD"
    make_demo_data.main(["--out", str(raw), "--n-images", "7", "--size", "384x256", "--haemorrhages", "3",
                         "--workers", "1"])
    ws = root / "ws"
    gt_binary.main(["--raw", str(raw), "--data", str(ws), "--lesion", "EX,HE", "--workers", "1"])
    extract_patches.main(["--data", str(ws), "--patch-size", "64", "--stride", "32", "--workers", "1"])
    traintest_split.main(["--data", str(ws), "--val-fraction", "0.25"])
    return ws


def train_cmd(ws, ck, *extra):
    return [sys.executable, str(ROOT / "train.py"), "--data", str(ws), "--checkpoints", str(ck), *TINY, *extra]


def test_lesion_lists_weights_and_bit_packing():
    assert parse_lesions("ex, HE", ("EX", "HE", "MA")) == ("EX", "HE")
    for bad in ("EX,XX", "EX,EX", ""):
        with pytest.raises(PipelineError):
            parse_lesions(bad, ("EX", "HE"))
    assert parse_weights("3") == 3.0 and parse_weights("3,6") == (3.0, 6.0)
    assert per_lesion_weights((3.0, 6.0), ("EX", "HE")) == (3.0, 6.0)
    assert per_lesion_weights(5.0, ("EX", "HE")) == 5.0
    with pytest.raises(PipelineError, match="one per lesion"):
        per_lesion_weights((3.0, 6.0, 1.0), ("EX", "HE"))
    rng = np.random.default_rng(0)
    masks = [rng.random((9, 7)) < 0.3 for _ in range(5)]  # overlapping, as real lesions may
    np.testing.assert_array_equal(unpack(pack(masks), 5), np.stack(masks, -1).astype(np.uint8))


def test_synthetic_haemorrhages_are_dark_labelled_and_leave_exudate_images_unchanged():
    img, masks = fundus_lesions(384, 256, seed=5, n_clusters=2, n_blots=3)
    assert masks["HE"].sum() > 50 and not (masks["HE"] & masks["EX"]).any()
    grey = img.mean(axis=2)
    ring = np.zeros_like(masks["HE"])  # retina pixels away from both lesions
    ring[64:192, 96:288] = True
    ring &= ~masks["HE"] & ~masks["EX"]
    assert grey[masks["HE"]].mean() < 0.7 * grey[ring].mean()
    plain, ex = fundus(384, 256, seed=5, n_clusters=2)
    img0, masks0 = fundus_lesions(384, 256, seed=5, n_clusters=2, n_blots=0)
    np.testing.assert_array_equal(plain, img0)
    np.testing.assert_array_equal(ex, masks0["EX"])
    assert not masks0["HE"].any()


def test_gt_binary_writes_each_lesion_and_their_union(two_lesion_ws):
    ws = two_lesion_ws
    manifest = pd.read_csv(ws / "manifest.csv")
    assert [c for c in manifest.columns if c.startswith("mask_")] == ["mask_EX", "mask_HE"]
    for row in manifest.itertuples():
        ex, he = read_binary_mask(ws / row.mask_EX), read_binary_mask(ws / row.mask_HE)
        np.testing.assert_array_equal(read_binary_mask(ws / row.mask), ex | he)
        assert row.lesion_fraction == pytest.approx((ex | he).mean())
        assert row.lesion_fraction_HE == pytest.approx(he.mean())
    assert manifest.lesion_fraction_HE.min() > 0  # every image has blots
    test = pd.read_csv(ws / "test.csv")
    assert {"mask_EX", "mask_HE"} <= set(test.columns)
    assert json.loads((ws / "patches" / "prep.json").read_text())["lesions"] == ["EX", "HE"]


def test_several_lesions_need_the_idrid_layout(tiny_ws, tmp_path):
    raw = tmp_path / "plain"
    (raw / "images").mkdir(parents=True)
    (raw / "masks").mkdir()
    Image.new("RGB", (8, 8)).save(raw / "images" / "a.png")
    Image.new("L", (8, 8)).save(raw / "masks" / "a.png")
    with pytest.raises(PipelineError, match="IDRiD layout"):
        gt_binary.main(["--raw", str(raw), "--data", str(tmp_path / "ws"), "--lesion", "EX,HE"])
    # one lesion is the workspace it always was: no lesion folders or columns, no lesions in prep.json
    manifest = pd.read_csv(tiny_ws / "manifest.csv")
    assert not [c for c in manifest.columns if c.startswith("mask_")]
    assert "lesions" not in json.loads((tiny_ws / "patches" / "prep.json").read_text())


def test_patch_masks_carry_each_lesion_in_its_own_bit(two_lesion_ws):
    ws = two_lesion_ws
    import tensorflow as tf

    from lesionseg.pipeline import decode

    patches = pd.read_csv(ws / "patches" / "patches.csv")
    manifest = pd.read_csv(ws / "manifest.csv").set_index("stem")
    checked = 0
    for row in patches[patches.positive].head(6).itertuples():
        packed = np.asarray(Image.open(ws / row.patch_mask))
        for k, code in enumerate(("EX", "HE")):
            full = read_binary_mask(ws / manifest.at[row.source, f"mask_{code}"])
            want = full[row.y : row.y + 64, row.x : row.x + 64]
            np.testing.assert_array_equal(unpack(packed, 2)[..., k], want)
        _, mask = decode(tf.constant(str(ws / row.patch_image)), tf.constant(str(ws / row.patch_mask)), 2)
        np.testing.assert_array_equal(mask.numpy().astype(np.uint8), unpack(packed, 2))
        checked += 1
    assert checked == 6


def test_loss_sums_each_lesions_weighted_bce_and_dice():
    import keras

    from lesionseg.losses import WeightedBCE

    rng = np.random.default_rng(1)
    y = (rng.random((2, 8, 8, 2)) < 0.2).astype(np.float32)
    x = rng.normal(0, 2, (2, 8, 8, 2)).astype(np.float32)
    weights = (3.0, 7.0)

    def reference(k, w):
        p = 1 / (1 + np.exp(-x[..., k]))
        bce = -(y[..., k] * np.log(p) + (1 - y[..., k]) * np.log(1 - p))
        per_sample = ((1 + (w - 1) * y[..., k]) * bce).mean(axis=(1, 2))
        dice = 1 - (2 * (p * y[..., k]).sum() + 1) / (p.sum() + y[..., k].sum() + 1)
        return per_sample, dice

    parts = [reference(k, w) for k, w in enumerate(weights)]
    want_bce = sum(p[0] for p in parts).mean()
    got = float(keras.ops.convert_to_numpy(WeightedBCE(list(weights))(y, x)))
    assert got == pytest.approx(want_bce, rel=1e-5)
    got_dice = float(keras.ops.convert_to_numpy(WeightedBCE(list(weights), dice_weight=1.0)(y, x)))
    assert got_dice == pytest.approx(want_bce + sum(p[1] for p in parts), rel=1e-5)
    # one lesion: the loss it always was
    single = float(keras.ops.convert_to_numpy(WeightedBCE(3.0)(y[..., :1], x[..., :1])))
    assert single == pytest.approx(parts[0][0].mean(), rel=1e-5)


def test_two_output_model_resumes_after_a_kill_with_the_same_weights(two_lesion_ws, tmp_path):
    ws = two_lesion_ws
    ref = tmp_path / "ref"
    res = subprocess.run(train_cmd(ws, ref, "--epochs", "3", "--pos-weight", "3,5", "--val-aupr-every", "1"),
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-2000:]
    model = load_trained(ref)
    assert model.output_shape[-1] == 2
    hist = pd.read_csv(ref / "history.csv")
    assert {"val_aupr", "val_aupr_HE"} <= set(hist.columns)
    state = json.loads((ref / "state.json").read_text())
    assert state["config"]["lesions"] == ["EX", "HE"] and state["config"]["pos_weight"] == [3.0, 5.0]
    # loss.png draws the mean validation AUPR (what picks the best epoch) and each lesion's own
    curves = aupr_curves(hist)
    assert list(curves)[0] == "mean of the lesions" and curves["HE"].equals(hist.val_aupr_HE)
    ck = tmp_path / "killed"
    run_until_killed(train_cmd(ws, ck, "--epochs", "3", "--pos-weight", "3,5", "--val-aupr-every", "1"), ck, 1)
    again = subprocess.run(train_cmd(ws, ck, "--epochs", "3", "--pos-weight", "3,5", "--val-aupr-every", "1"),
                           capture_output=True, text=True)
    assert again.returncode == 0 and "resuming" in again.stdout, again.stderr[-2000:]
    for a, b in zip(load_trained(ref / "epoch_003.keras").get_weights(),
                    load_trained(ck / "epoch_003.keras").get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    other = subprocess.run(train_cmd(ws, ck, "--epochs", "4", "--pos-weight", "3"), capture_output=True, text=True)
    assert other.returncode != 0 and "pos_weight" in other.stderr


@pytest.fixture(scope="module")
def two_lesion_run(two_lesion_ws, tmp_path_factory):
    ck = tmp_path_factory.mktemp("ck2") / "ck"
    subprocess.run(train_cmd(two_lesion_ws, ck, "--epochs", "2", "--sampling", "grid", "--steps-per-epoch", "0"),
                   check=True, capture_output=True)
    return ck


def test_evaluate_reports_each_lesion_with_its_own_threshold(two_lesion_ws, two_lesion_run, tmp_path):
    run = tmp_path / "run"  # laid out like a reproduce run: checkpoints/ and results/
    run.mkdir()
    (run / "checkpoints").symlink_to(two_lesion_run, target_is_directory=True)
    res = run / "results"
    evaluate.main(["--data", str(two_lesion_ws), "--checkpoints", str(two_lesion_run), "--results", str(res)])
    table = pd.read_csv(res / "lesions.csv")
    assert list(table.lesion) == ["EX", "HE"]
    stored = {"thresholds": {c: t.value for c, t in Bundle.read(two_lesion_run).thresholds.items()}}
    assert set(stored["thresholds"]) == {"EX", "HE"}
    n_test = len(pd.read_csv(two_lesion_ws / "test.csv"))
    for code in ("EX", "HE"):
        m = json.loads((res / code / "metrics.json").read_text())
        assert m["threshold"] == stored["thresholds"][code] == table.set_index("lesion").at[code, "threshold"]
        for name in ("froc.png", "pr.png", "lesion_froc.png", "per_image.csv", "froc.csv"):
            assert (res / code / name).is_file()
        assert len(list((res / code / "probabilities").glob("*.png"))) == n_test
        # the per-lesion pixel counts are this lesion's, not the union's
        rows = pd.read_csv(res / code / "per_image.csv").set_index("stem")
        test = pd.read_csv(two_lesion_ws / "test.csv").set_index("stem")
        for stem in rows.index:
            truth = read_binary_mask(two_lesion_ws / test.at[stem, f"mask_{code}"])
            assert rows.at[stem, "lesion_pixels"] == truth.sum()
    combined = json.loads((res / "metrics.json").read_text())
    assert set(combined["lesions"]) == {"EX", "HE"}
    # bench/ablation_table.py gives such a model one row per lesion, each with that lesion's figures
    ablation = bench_module("ablation_table")
    lines = ablation.rows(run, "results")
    assert [line.split(" | ")[0] for line in lines] == ["| run EX", "| run HE"]
    for line, code in zip(lines, ("EX", "HE"), strict=True):
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert cells[1] == f"{combined['lesions'][code]['test']['whole_frame']['aupr_33']:.3f}"
        assert cells[7] == f"{stored['thresholds'][code]:.3f}"
    # the shipped model's card has a section per lesion, each with that lesion's own threshold and AUPR-33
    from lesionseg.ship import card_figures

    card = card_figures(res)
    sections = card.split("\nHE:\n")
    assert len(sections) == 2 and sections[0].startswith("\nEX:\n")
    for section, code in zip(sections, ("EX", "HE"), strict=True):
        f = combined["lesions"][code]["test"]["whole_frame"]
        assert f"threshold {stored['thresholds'][code]:.3f}" in section
        assert f"AUPR-33 {f['aupr_33']:.3f}," in section


def test_infer_writes_a_map_and_mask_per_lesion_and_one_overlay(two_lesion_ws, two_lesion_run, tmp_path):
    ck = tmp_path / "ck"
    import shutil

    shutil.copytree(two_lesion_run, ck)
    bundle = Bundle.read(ck)
    bundle.with_thresholds([0.4, 0.6], "fixed", "typed for this test", bundle.inference).write(ck)
    images = sorted(pd.read_csv(two_lesion_ws / "test.csv").image)
    out = tmp_path / "out"
    assert infer.main(["--checkpoints", str(ck), "--out", str(out), *images]) == 0
    areas = pd.read_csv(out / "areas.csv")
    assert {"EX_lesion_pixels", "HE_lesion_pixels", "EX_lesion_percent_of_fov", "HE_threshold"} <= set(areas.columns)
    assert list(areas.EX_threshold.unique()) == [0.4] and list(areas.HE_threshold.unique()) == [0.6]
    for row in areas.itertuples():
        for code, thr in (("EX", 0.4), ("HE", 0.6)):
            prob = np.asarray(Image.open(out / f"{row.stem}_{code}_prob.png")) / 255
            mask = np.asarray(Image.open(out / f"{row.stem}_{code}_mask.png")) > 0
            assert mask.sum() == getattr(row, f"{code}_lesion_pixels")
            assert (prob[mask] >= thr - 1 / 255).all() and (prob[~mask] < thr + 1 / 255).all()
        assert (out / f"{row.stem}_overlay.png").is_file() and not (out / f"{row.stem}_prob.png").exists()
    # a typed threshold applies to every lesion
    out2 = tmp_path / "out2"
    infer.main(["--checkpoints", str(ck), "--out", str(out2), "--threshold", "0.5", images[0]])
    row = pd.read_csv(out2 / "areas.csv").iloc[0]
    assert row.EX_threshold == row.HE_threshold == 0.5
    # thresholds of another lesion set are refused
    stored = json.loads((ck / "bundle.json").read_text())
    stored["thresholds"]["MA"] = {"value": 0.6, "rule": "fixed", "chosen_on": "elsewhere"}
    (ck / "bundle.json").write_text(json.dumps(stored))
    with pytest.raises(PipelineError, match="thresholds for MA, which the model does not predict"):
        infer.main(["--checkpoints", str(ck), "--out", str(tmp_path / "out3"), images[0]])


def test_a_model_whose_outputs_do_not_match_its_lesions_is_refused(two_lesion_run, tmp_path):
    import shutil

    ck = tmp_path / "ck"
    shutil.copytree(two_lesion_run, ck)
    stored = json.loads((ck / "bundle.json").read_text())
    stored["lesions"], stored["thresholds"] = ["EX"], {}  # (thresholds, if an earlier test evaluated the run)
    (ck / "bundle.json").write_text(json.dumps(stored))
    with pytest.raises(PipelineError, match="2 output"):
        infer.main(["--checkpoints", str(ck), "--out", str(tmp_path / "o"), str(tmp_path)])


def test_stitching_and_tiles_keep_one_channel_per_lesion():
    from lesionseg.model import build_unet
    from lesionseg.predict import predict_faithful, predict_fast
    from lesionseg.tiling import Stitcher

    rng = np.random.default_rng(2)
    probs = rng.random((4, 32, 32, 3)).astype(np.float32)
    multi = Stitcher(48, 48, 32, channels=3)
    singles = [Stitcher(48, 48, 32) for _ in range(3)]
    for (y, x), p in zip(((0, 0), (0, 16), (16, 0), (16, 16)), probs, strict=True):
        multi.add(y, x, p)
        for k, s in enumerate(singles):
            s.add(y, x, p[..., k])
    np.testing.assert_allclose(multi.result(), np.stack([s.result() for s in singles], -1), rtol=1e-6)
    model = build_unet(4, 3, outputs=2)
    image = rng.integers(0, 255, (70, 90, 3)).astype(np.uint8)
    fast = predict_fast(model, image, 4, tile=4352, margin=8)
    faithful = predict_faithful(model, image, 32, 16, 4)
    assert fast.shape == faithful.shape == (70, 90, 2)


def test_prep_records_lesions_only_for_a_model_of_several(tmp_path):
    from lesionseg.prep import Prep

    assert "lesions" not in Prep().as_dict() and Prep().channels == 1
    several = Prep(0.5, 0.5, "clahe", ("EX", "HE"))
    several.write(tmp_path / "prep.json")
    assert Prep.read(tmp_path / "prep.json") == several and several.channels == 2
