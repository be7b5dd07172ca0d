"""Batch runs that survive: areas.csv written as each photograph finishes, a killed run resumed by
the same command, --part K/N shares whose union is the single run, and unreadable photographs
reported in errors.csv without ending the run."""

import shutil

import pandas as pd
import pytest
from conftest import train_tiny

import infer
from lesionseg.predictor import Predictor
from lesionseg.rowlog import RowLog


@pytest.fixture(scope="module")
def model(tiny_ws, tmp_path_factory):
    return train_tiny(tiny_ws, tmp_path_factory.mktemp("batch_ck"), "--epochs", "1", "--steps-per-epoch", "5")


@pytest.fixture
def photos(tiny_ws, tmp_path):
    folder = tmp_path / "photos"
    shutil.copytree(tiny_ws.parent / "raw" / "images", folder)
    return folder


def run(model, out, *extra) -> int:
    return infer.main(["--checkpoints", str(model), "--out", str(out), "--threshold", "0.5", *extra])


def outputs(out) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.glob("*.png"))}


def test_a_cut_last_line_is_dropped_and_rows_are_on_disk_at_once(tmp_path):
    path = tmp_path / "t.csv"
    log = RowLog(path)
    log.append({"image": "a.jpg", "n": 1})
    log.append({"image": "b.jpg", "n": 2})
    assert pd.read_csv(path).image.tolist() == ["a.jpg", "b.jpg"]  # readable after each row, not at the end
    with path.open("a") as f:
        f.write("c.jpg,3")  # a kill in the middle of a row: no newline
    again = RowLog(path)
    assert again.done("image") == {"a.jpg", "b.jpg"} and pd.read_csv(path).image.tolist() == ["a.jpg", "b.jpg"]
    again.keep_only("image", {"b.jpg"})
    assert pd.read_csv(path).image.tolist() == ["b.jpg"]
    assert RowLog(path, keep=False).rows == [] and not path.exists()


def test_a_killed_run_resumes_where_it_stopped_with_the_same_outputs(model, photos, tmp_path, monkeypatch, capsys):
    whole = tmp_path / "whole"
    assert run(model, whole, str(photos)) == 0
    calls = []
    real = Predictor.predict_prepared  # the network's part of infer.py's work on a photograph

    def dies_on_the_third(self, prepared):
        calls.append(prepared.shape)
        if len(calls) == 3:
            raise KeyboardInterrupt  # killed while the third photograph is being segmented
        return real(self, prepared)

    out = tmp_path / "out"
    monkeypatch.setattr(Predictor, "predict_prepared", dies_on_the_third)
    with pytest.raises(KeyboardInterrupt):
        run(model, out, str(photos))
    assert len(pd.read_csv(out / "areas.csv")) == 2  # the two finished photographs are kept
    with (out / "areas.csv").open("a") as f:
        f.write(str(photos / "im9.png"))  # and the kill cut a third row short
    calls.clear()

    def counted(self, prepared):
        calls.append(prepared.shape)
        return real(self, prepared)

    monkeypatch.setattr(Predictor, "predict_prepared", counted)
    capsys.readouterr()
    assert run(model, out, str(photos)) == 0
    assert "2 of 5 photographs already segmented" in capsys.readouterr().out
    assert len(calls) == 3  # only the photographs without a complete row were segmented again
    pd.testing.assert_frame_equal(pd.read_csv(out / "areas.csv"), pd.read_csv(whole / "areas.csv"))
    assert outputs(out) == outputs(whole)
    # another threshold is another run: it starts over, and says so
    calls.clear()
    assert infer.main(["--checkpoints", str(model), "--out", str(out), "--threshold", "0.7", str(photos)]) == 0
    assert len(calls) == 5 and "holds an earlier run's outputs" in capsys.readouterr().err


def test_shares_are_disjoint_and_together_give_the_single_run(model, photos, tmp_path):
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    assert run(model, whole, str(photos)) == 0
    for k in (1, 2, 3):
        assert run(model, parts, "--part", f"{k}/3", str(photos)) == 0
    shares = [pd.read_csv(parts / f"areas-part-{k}-of-3.csv") for k in (1, 2, 3)]
    assert sorted(len(s) for s in shares) == [1, 2, 2]
    union = pd.concat(shares).sort_values("image").reset_index(drop=True)
    pd.testing.assert_frame_equal(union, pd.read_csv(whole / "areas.csv").sort_values("image").reset_index(drop=True))
    assert outputs(parts) == outputs(whole)
    with pytest.raises(SystemExit):
        infer.build_parser().parse_args(["--part", "4/3", "x.jpg"])


def test_an_unreadable_photograph_is_reported_and_the_run_goes_on(model, photos, tmp_path):
    (photos / "broken.jpg").write_bytes(b"\xff\xd8\xff not a jpeg")
    out = tmp_path / "out"
    assert run(model, out, str(photos)) == 1  # some failed
    errors = pd.read_csv(out / "errors.csv")
    assert errors.image.tolist() == [str(photos / "broken.jpg")] and "broken.jpg" in errors.reason.iloc[0]
    assert len(pd.read_csv(out / "areas.csv")) == 5  # every other photograph was segmented
