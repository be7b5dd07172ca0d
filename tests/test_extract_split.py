import hashlib

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import extract_patches
import gt_binary
import traintest_split
from lesionseg import patches as patches_mod
from lesionseg.errors import PipelineError
from lesionseg.imageio import read_csv


@pytest.fixture
def ws(raw_idrid, tmp_path):
    gt_binary.main(["--raw", str(raw_idrid), "--data", str(tmp_path), "--workers", "1"])
    return tmp_path


def extract(ws, *extra):
    extract_patches.main(["--data", str(ws), "--workers", "2", *extra])
    return read_csv(ws / "patches" / "patches.csv", ["source"], "")


def digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_positives_all_kept_negatives_balanced_and_test_images_not_tiled(ws):
    df = extract(ws)
    assert set(df.source) <= {f"IDRiD_0{i}" for i in range(1, 5)}  # 05, 06 are the testing set
    n_grid = 4 * 6
    pos = df[df.positive]
    assert (pos.lesion_pixels >= 1).all() and (df[~df.positive].lesion_pixels == 0).all()
    n_pos_total = sum(int((np.asarray(Image.open(ws / "masks" / f"IDRiD_0{i}.png"))[y:y + 512, x:x + 512] > 0).any())
                      for i in range(1, 5) for y in (0, 188) for x in (0, 256, 588))
    assert len(pos) == n_pos_total
    assert len(df) - len(pos) == min(len(pos), n_grid - len(pos))


def test_patch_pixels_are_the_crops(ws):
    df = extract(ws)
    row = df[df.positive].iloc[0]
    man = read_csv(ws / "manifest.csv", ["stem"], "").set_index("stem")
    img = np.asarray(Image.open(man.loc[row.source, "image"]).convert("RGB"), np.int16)
    mask = np.asarray(Image.open(ws / man.loc[row.source, "mask"]))
    p_img = np.asarray(Image.open(ws / row.patch_image), np.int16)
    p_mask = np.asarray(Image.open(ws / row.patch_mask))
    y, x = int(row.y), int(row.x)
    np.testing.assert_array_equal(p_mask, mask[y:y + 512, x:x + 512])
    assert np.abs(p_img - img[y:y + 512, x:x + 512]).mean() < 1.5  # JPEG quality 100
    assert int((p_mask > 0).sum()) == row.lesion_pixels


def test_same_seed_same_patches_other_seed_other_negatives(ws, tmp_path):
    half = ("--neg-per-pos", "0.5")  # fewer negatives than exist, so the draw matters
    extract(ws, "--seed", "3", *half)
    first = digest(ws / "patches")
    extract(ws, "--seed", "3", *half, "--workers", "1")
    assert digest(ws / "patches") == first
    extract(ws, "--seed", "4", *half)
    assert digest(ws / "patches") != first


def test_rerun_leaves_no_stale_patches(ws):
    extract(ws, "--neg-per-pos", "-1")  # keep every negative
    many = len(list((ws / "patches" / "images").iterdir()))
    df = extract(ws, "--neg-per-pos", "0")
    files = sorted(p.name for p in (ws / "patches" / "images").iterdir())
    assert len(files) == len(df) < many
    assert files == sorted(n.split("/")[-1] for n in df.patch_image)


def test_killed_run_keeps_the_previous_complete_output(ws, monkeypatch):
    extract(ws)
    before = digest(ws / "patches")

    calls = []

    def dies_on_second_image(job, chosen, out_dir):
        calls.append(job.stem)
        if len(calls) == 2:
            raise KeyboardInterrupt  # as if killed half-way
        patches_mod.write_patches(job, chosen, out_dir)

    monkeypatch.setattr(extract_patches, "write_patches", dies_on_second_image)
    with pytest.raises(KeyboardInterrupt):
        extract(ws, "--seed", "9", "--workers", "1")
    assert digest(ws / "patches") == before
    assert not [p for p in ws.iterdir() if ".tmp-" in p.name]


def test_small_image_is_padded_and_recorded(tmp_path):
    (tmp_path / "raw" / "images").mkdir(parents=True)
    (tmp_path / "raw" / "masks").mkdir()
    Image.fromarray(np.full((300, 400, 3), 9, np.uint8)).save(tmp_path / "raw" / "images" / "s.png")
    m = np.zeros((300, 400), np.uint8)
    m[10:20, 10:20] = 255
    Image.fromarray(m).save(tmp_path / "raw" / "masks" / "s.png")
    gt_binary.main(["--raw", str(tmp_path / "raw"), "--data", str(tmp_path / "ws"), "--workers", "1"])
    df = extract(tmp_path / "ws")
    assert len(df) == 1 and bool(df.padded.iloc[0]) and df.lesion_pixels.iloc[0] == 100
    assert Image.open(tmp_path / "ws" / df.patch_image.iloc[0]).size == (512, 512)


def test_non_binary_workspace_mask_is_refused(ws):
    Image.fromarray(np.full((700, 1100), 128, np.uint8)).save(ws / "masks" / "IDRiD_02.png")
    with pytest.raises(PipelineError, match=r"IDRiD_02\.png: mask is not binary"):
        extract(ws)


def split(ws, *extra):
    traintest_split.main(["--data", str(ws), *extra])
    return {n: read_csv(ws / f"{n}.csv", [], "") if (ws / f"{n}.csv").stat().st_size > 30 else pd.DataFrame()
            for n in ("train", "val", "test", "val_images")}


def test_split_by_image_uses_the_testing_set_and_never_shares_an_image(ws):
    extract(ws)
    out = split(ws, "--val-fraction", "0.25")
    assert list(out["test"].stem) == ["IDRiD_05", "IDRiD_06"]
    assert not set(out["train"].source) & set(out["val"].source)
    assert set(out["val_images"].stem) == set(out["val"].source) and len(set(out["val"].source)) == 1
    again = split(ws, "--val-fraction", "0.25")
    pd.testing.assert_frame_equal(out["train"], again["train"])


def test_a_validation_image_without_patches_is_still_scored_whole(ws):
    patches = extract(ws)
    first = split(ws, "--val-fraction", "0.25")
    (val_stem,) = set(first["val"].source)
    table = ws / "patches" / "patches.csv"
    pd.read_csv(table).query("source != @val_stem").to_csv(table, index=False)
    out = split(ws, "--val-fraction", "0.25")
    assert val_stem in set(patches.source) and out["val"].empty  # its only validation image gave no patch
    assert list(out["val_images"].stem) == [val_stem]


def test_split_without_testing_set_holds_out_a_seeded_share(tmp_path, raw_idrid):
    import shutil

    raw = tmp_path / "plain"
    (raw / "images").mkdir(parents=True)
    (raw / "masks").mkdir()
    root = raw_idrid / "A. Segmentation"
    for i in range(1, 5):
        shutil.copy(root / "1. Original Images" / "a. Training Set" / f"IDRiD_0{i}.jpg", raw / "images")
        shutil.copy(root / "2. All Segmentation Groundtruths" / "a. Training Set" / "3. Hard Exudates" /
                    f"IDRiD_0{i}_EX.tif", raw / "masks" / f"IDRiD_0{i}.tif")
    gt_binary.main(["--raw", str(raw), "--data", str(tmp_path / "ws"), "--workers", "1"])
    extract(tmp_path / "ws")
    out = split(tmp_path / "ws", "--test-fraction", "0.25", "--val-fraction", "0.34")
    assert len(out["test"]) == 1 and out["test"].stem.iloc[0] not in set(out["train"].source) | set(out["val"].source)


def test_held_out_images_do_not_depend_on_the_validation_share():
    """Training on training + validation images (--val-fraction 0) must keep the same held-out images,
    or its figures could not be set beside the runs that validated."""
    from lesionseg.split import split_images

    manifest = pd.DataFrame({"stem": [f"{i:02d}" for i in range(21, 41)], "split": "train"})
    with_val = split_images(manifest, 0.2, 0.25, seed=42)
    without = split_images(manifest, 0.0, 0.25, seed=42)
    held_out = {s for s, r in with_val.items() if r == "test"}
    assert len(held_out) == 5 and held_out == {s for s, r in without.items() if r == "test"}
    assert sorted(r for r in with_val.values() if r == "val") == ["val"] * 3
    assert set(without.values()) == {"train", "test"}


def test_a_stratified_split_gives_the_validation_images_their_share_of_the_lesion():
    """Soft exudates are in about half of IDRiD's photographs: a plain draw of 9 validation images gave
    the zoo SE model 2 with the lesion. Stratified, those with and without it are drawn apart."""
    import pytest

    from lesionseg.errors import PipelineError
    from lesionseg.split import split_images

    stems = [f"{i:02d}" for i in range(40)]
    has = {"03", "11", "17", "22", "29", "31", "36", "38"}  # 8 of 40
    manifest = pd.DataFrame({"stem": stems, "split": "train", "lesion_fraction": [0.01 * (s in has) for s in stems]})
    plain = split_images(manifest, 0.25, 0.2, seed=42)
    strat = split_images(manifest, 0.25, 0.2, seed=42, stratify=True)
    assert strat == split_images(manifest, 0.25, 0.2, seed=42, stratify=True)  # seeded
    test = {s for s, r in plain.items() if r == "test"}
    assert test == {s for s, r in strat.items() if r == "test"}  # the held-out draw does not move
    rest_has = has - test
    val = {s for s, r in strat.items() if r == "val"}
    assert len(val & has) == max(1, round(0.25 * len(rest_has)))
    assert len(val - has) == round(0.25 * (len(stems) - len(test) - len(rest_has)))
    with pytest.raises(PipelineError, match="lesion_fraction"):
        split_images(manifest.drop(columns="lesion_fraction"), 0.25, 0.2, seed=42, stratify=True)


def test_split_by_patch_warns_and_leaks(ws, capsys):
    extract(ws)
    out = split(ws, "--by", "patch")
    assert "leak" in capsys.readouterr().err
    assert set(out["train"].source) & set(out["val"].source)
