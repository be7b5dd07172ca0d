"""Batch inference on Ray Data, with a local cluster of two workers, gives infer.py's outputs: the
same areas.csv rows in the same order and the same PNG files, byte for byte; an unreadable
photograph goes to errors.csv and the exit status is 1, as with infer.py. Inputs may also be
listed in a CSV of paths or given as a glob pattern."""

import shutil

import pandas as pd
import pytest
from conftest import ship_as, train_tiny

import infer
from lesionseg.batch import list_inputs
from lesionseg.errors import PipelineError

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def model(tiny_ws, tmp_path_factory):
    return train_tiny(tiny_ws, tmp_path_factory.mktemp("dist_ck"), "--epochs", "1", "--steps-per-epoch", "4")


def outputs(out) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.glob("*.png"))}


def test_two_ray_workers_write_what_infer_writes(model, tiny_ws, tmp_path):
    """Two shipped models of two structures run together (--models all), as infer.py runs them."""
    from lesionseg import distributed

    zoo = tmp_path / "models"
    ship_as(model, zoo, "tiny-ex", "EX", 0.5)
    ship_as(model, zoo, "tiny-he", "HE", 0.3, scale=0.5)  # another working scale: prepared on its own
    photos = tmp_path / "photos"
    shutil.copytree(tiny_ws.parent / "raw" / "images", photos)
    (photos / "zz_broken.jpg").write_bytes(b"\xff\xd8\xff not a whole jpeg")
    listing = tmp_path / "list.csv"
    pd.DataFrame({"image": [str(p) for p in sorted(photos.iterdir())]}).to_csv(listing, index=False)
    single, spread = tmp_path / "single", tmp_path / "spread"
    flags = ["--zoo", str(zoo), "--models", "all"]
    assert infer.main([*flags, "--out", str(single), str(photos)]) == 1  # the broken one fails the run
    assert distributed.main([*flags, "--out", str(spread), "--workers", "2", str(listing)]) == 1
    a, b = pd.read_csv(single / "areas.csv"), pd.read_csv(spread / "areas.csv")
    assert len(a) == 5 and {"EX_lesion_pixels", "HE_lesion_pixels"} <= set(a.columns)
    pd.testing.assert_frame_equal(a, b)
    assert outputs(single) == outputs(spread) and len(outputs(single)) == 5 * 5  # 2 PNGs per structure, 1 overlay
    errors = pd.read_csv(spread / "errors.csv")
    assert errors.image.tolist() == [str(photos / "zz_broken.jpg")] and "truncated" in errors.reason[0]


def test_a_missing_model_is_refused_before_any_worker_starts(tmp_path, monkeypatch):
    from lesionseg import distributed

    monkeypatch.setattr(distributed, "run", lambda *a, **k: pytest.fail("workers started"))
    with pytest.raises(PipelineError, match=r"nothing: no trained model here"):
        distributed.main(["--checkpoints", str(tmp_path / "nothing"), "--out", str(tmp_path / "o"), str(tmp_path)])


def test_inputs_come_from_folders_globs_and_csv_lists_in_order(tmp_path):
    for name in ("b.png", "a.jpg", "c.txt"):
        (tmp_path / name).write_bytes(b"x")
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "d.jpg").write_bytes(b"x")
    plain = tmp_path / "plain.csv"
    plain.write_text("sub/d.jpg\nb.png\n")  # no header: a list of paths, relative to the CSV's folder
    out = tmp_path / "out"
    assert list_inputs([str(tmp_path / "*.*g")], out) == [tmp_path / "a.jpg", tmp_path / "b.png"]
    assert list_inputs([str(plain)], out) == [sub / "d.jpg", tmp_path / "b.png"]
    assert list_inputs([str(tmp_path / "**" / "d.jpg"), str(sub)], out) == [sub / "d.jpg"]  # named twice: once
    with pytest.raises(PipelineError, match="matches no images"):
        list_inputs([str(tmp_path / "*.tif")], out)
    (tmp_path / "empty.csv").write_text("image\n")
    with pytest.raises(PipelineError, match="lists no photographs"):
        list_inputs([str(tmp_path / "empty.csv")], out)
