import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, idrid_dirs
from PIL import Image

import gt_binary
from lesionseg.errors import PipelineError
from lesionseg.imageio import read_csv
from lesionseg.synthetic import fundus, write_palette_tiff_1bit


def run(raw, data, *extra):
    return gt_binary.main(["--raw", str(raw), "--data", str(data), "--workers", "1", *extra])


def test_masks_are_lossless_0_255_and_match_the_source(raw_idrid, tmp_path):
    run(raw_idrid, tmp_path)
    man = pd.read_csv(tmp_path / "manifest.csv", keep_default_na=False)
    assert list(man.stem) == [f"IDRiD_{i:02d}" for i in range(1, 7)]
    assert list(man.split) == ["train"] * 4 + ["test"] * 2
    for row in man.itertuples():
        out = np.asarray(Image.open(tmp_path / row.mask))
        assert set(np.unique(out)) <= {0, 255}
        split = "a. Training Set" if row.split == "train" else "b. Testing Set"
        src = Image.open(idrid_dirs(raw_idrid, split)[1] / f"{row.stem}_EX.tif")
        truth = np.asarray(src.convert("RGB"))[..., 0] > 0  # lesion is red, in palette and RGBA alike
        np.testing.assert_array_equal(out == 255, truth)
        assert row.lesion_fraction == pytest.approx(truth.mean())


def test_rgba_mask_is_read_like_the_palette_ones(raw_idrid, tmp_path):
    run(raw_idrid, tmp_path)
    last = Image.open(idrid_dirs(raw_idrid, "b. Testing Set")[1] / "IDRiD_06_EX.tif")
    assert last.mode == "RGBA"
    assert (np.asarray(Image.open(tmp_path / "masks" / "IDRiD_06.png")) == 255).sum() > 0


def test_image_without_mask_gets_an_empty_mask_and_one_warning(raw_copy, tmp_path, capsys):
    (idrid_dirs(raw_copy)[1] / "IDRiD_02_EX.tif").unlink()
    run(raw_copy, tmp_path)
    assert (np.asarray(Image.open(tmp_path / "masks" / "IDRiD_02.png")) == 0).all()
    err = capsys.readouterr().err
    assert err.count("no EX mask") == 1 and "IDRiD_02" in err


def test_stray_files_are_skipped_with_a_warning(raw_copy, tmp_path, capsys):
    img_dir, mask_dir = idrid_dirs(raw_copy)
    (img_dir / ".DS_Store").write_bytes(b"\0\0")
    (mask_dir / "Thumbs.db").write_bytes(b"\0")
    run(raw_copy, tmp_path)
    err = capsys.readouterr().err
    assert ".DS_Store" in err and "Thumbs.db" in err
    assert len(pd.read_csv(tmp_path / "manifest.csv")) == 6


def test_mask_without_image_names_the_mask(raw_copy, tmp_path):
    img_dir, mask_dir = idrid_dirs(raw_copy)
    (img_dir / "IDRiD_03.jpg").unlink()
    with pytest.raises(PipelineError, match=r"IDRiD_03_EX\.tif: mask without image"):
        run(raw_copy, tmp_path)


def test_size_mismatch_names_the_mask(raw_copy, tmp_path):
    _, mask_dir = idrid_dirs(raw_copy)
    write_palette_tiff_1bit(np.zeros((50, 60), bool), mask_dir / "IDRiD_01_EX.tif")
    with pytest.raises(PipelineError, match=r"IDRiD_01_EX\.tif: mask is 60x50 but its image IDRiD_01\.jpg is 1100x700"):
        run(raw_copy, tmp_path)


def test_truncated_image_and_unreadable_mask_are_named(raw_copy, tmp_path):
    img_dir, mask_dir = idrid_dirs(raw_copy)
    jpg = img_dir / "IDRiD_02.jpg"
    jpg.write_bytes(jpg.read_bytes()[: jpg.stat().st_size // 2])
    with pytest.raises(PipelineError, match=r"IDRiD_02\.jpg: JPEG is truncated"):
        run(raw_copy, tmp_path)
    jpg.write_bytes(b"not an image at all")
    with pytest.raises(PipelineError, match=r"IDRiD_02\.jpg: cannot read"):
        run(raw_copy, tmp_path)
    Image.fromarray(fundus(1100, 700, 1)[0]).save(jpg)
    (mask_dir / "IDRiD_04_EX.tif").write_bytes(b"II*\x00garbage")
    with pytest.raises(PipelineError, match=r"IDRiD_04_EX\.tif: cannot read"):
        run(raw_copy, tmp_path)


def test_empty_or_unknown_folder(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    with pytest.raises(PipelineError, match="no images found"):
        run(tmp_path, tmp_path / "out")
    with pytest.raises(PipelineError, match="unknown layout"):
        run(tmp_path / "masks", tmp_path / "out")


def test_cli_errors_exit_nonzero_with_one_message(tmp_path):
    res = subprocess.run([sys.executable, "gt_binary.py", "--raw", str(tmp_path / "nope"), "--data", str(tmp_path)],
                         cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 2 and res.stderr.strip().startswith("error:") and "nope" in res.stderr
    res = subprocess.run([sys.executable, "gt_binary.py", "--lesion", "XX"], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 2 and "invalid choice: 'XX'" in res.stderr
    res = subprocess.run([sys.executable, "gt_binary.py", "--bogus"], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 2 and "unrecognized arguments: --bogus" in res.stderr
    res = subprocess.run([sys.executable, "gt_binary.py", "--help"], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0 and "default: EX" in " ".join(res.stdout.split())  # --lesion shows its default


def test_drive_layout_pairs_by_number_and_keeps_the_fov(tmp_path):
    d = tmp_path / "DRIVE" / "training"
    for sub in ("images", "1st_manual", "mask"):
        (d / sub).mkdir(parents=True)
    rng = np.random.default_rng(0)
    vessels = {}
    for n in (21, 22):
        Image.fromarray(rng.integers(0, 255, (584, 565, 3), np.uint8)).save(d / "images" / f"{n}_training.tif")
        ves = vessels[n] = (rng.random((584, 565)) > 0.9).astype(np.uint8) * 255
        Image.fromarray(ves).save(d / "1st_manual" / f"{n}_manual1.gif")
        Image.fromarray(np.full((584, 565), 255, np.uint8)).save(d / "mask" / f"{n}_training_mask.gif")
    run(tmp_path / "DRIVE", tmp_path / "ws")
    man = read_csv(tmp_path / "ws" / "manifest.csv", ["stem"], "")
    assert list(man.stem) == ["21", "22"] and set(man.split) == {"train"}
    assert all(f.endswith("_training_mask.gif") for f in man.fov)
    out = np.asarray(Image.open(tmp_path / "ws" / "masks" / "21.png"))
    np.testing.assert_array_equal(out, vessels[21])


def test_plain_layout_threshold_50(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    Image.fromarray(np.zeros((40, 40, 3), np.uint8)).save(tmp_path / "images" / "a.png")
    grey = np.tile(np.arange(40, dtype=np.uint8) * 3, (40, 1))  # 0..117
    Image.fromarray(grey).save(tmp_path / "masks" / "a.png")
    run(tmp_path, tmp_path / "ws")
    out = np.asarray(Image.open(tmp_path / "ws" / "masks" / "a.png"))
    np.testing.assert_array_equal(out, np.where(grey < 50, 0, 255))
