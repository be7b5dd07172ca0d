"""Photometric versions of the training photographs: seeded chains of another camera's corruptions,
cut from by a draw of their own, so that a run without them keeps its crops and a resumed run with
them sees the same ones; and fine-tuning from another model's weights."""

import shutil

import numpy as np
import pytest
from conftest import train_tiny
from test_crops import bank

from lesionseg import photometric
from lesionseg.crops import crop_table, cut_crop, load_bank
from lesionseg.errors import PipelineError
from lesionseg.prep import PREP_FILE, Prep
from lesionseg.synthetic import fundus


def test_each_version_is_a_seeded_chain_within_the_stated_strengths():
    seeded = photometric.Versions(seed=42)
    chains = [photometric.chain(seeded, f"IDRiD_{i:02d}", v) for i in range(40) for v in range(1, 11)]
    assert chains[0] == photometric.chain(seeded, "IDRiD_00", 1)  # a function of seed, stem and number
    other = photometric.Versions(seed=7)
    assert chains[0] != photometric.chain(other, "IDRiD_00", 1) or chains[1] != photometric.chain(other, "IDRiD_00", 2)
    assert len({tuple(c) for c in chains}) > 350  # the stem and the number both change the chain
    names = list(photometric.CHAIN)
    for c in chains:
        assert [n for n, _, _ in c] == [n for n in names if n in {m for m, _, _ in c}]  # in camera order
        for name, strength, _ in c:
            low, high, _ = photometric.CHAIN[name]
            assert low <= strength <= high
    share = np.mean([[name in {n for n, _, _ in c} for name in names] for c in chains], axis=0)
    assert np.allclose(share, photometric.CHANCE, atol=0.06)  # each corruption in about CHANCE of the versions
    photo, _ = fundus(800, 560, seed=2)
    v = next(k for k in range(1, 50) if len(photometric.chain(photometric.Versions(seed=3), "x", k)) >= 2)
    out = photometric.version(photo, photometric.Versions(1, 3), "x", v)
    assert out.shape == photo.shape and out.dtype == np.uint8 and not np.array_equal(out, photo)
    np.testing.assert_array_equal(out, photometric.version(photo, photometric.Versions(1, 3), "x", v))
    empty = next(k for k in range(1, 200) if not photometric.chain(photometric.Versions(seed=3), "x", k))
    np.testing.assert_array_equal(photometric.version(photo, photometric.Versions(1, 3), "x", empty), photo)


def test_a_step_taken_more_often_adds_it_to_versions_and_moves_nothing_else():
    more = photometric.Versions(1, 42, photometric.parse_chances(" jpeg=0.8 "))
    assert more.chances == (("jpeg", 0.8),) and more.chance("blur") == photometric.CHANCE
    plain = [photometric.chain(photometric.Versions(seed=42), f"s{i}", v) for i in range(40) for v in range(1, 6)]
    often = [photometric.chain(more, f"s{i}", v) for i in range(40) for v in range(1, 6)]
    assert np.mean([any(n == "jpeg" for n, _, _ in c) for c in often]) > 0.7
    for a, b in zip(plain, often, strict=True):
        assert [s for s in a if s[0] != "jpeg"] == [s for s in b if s[0] != "jpeg"]  # the other steps stay put
        assert set(a) <= set(b)  # a JPEG step already drawn keeps its quality
    assert photometric.parse_chances("jpeg=0.5,blur=0") == (("blur", 0.0), ("jpeg", 0.5))  # CHAIN's order
    for bad in ("jpg=0.5", "jpeg=1.5", "jpeg", "jpeg=x"):
        with pytest.raises(PipelineError, match="--photometric-chance .*STEP=CHANCE"):
            photometric.parse_chances(bad)


def test_the_version_draw_moves_no_other_draw_and_resumes():
    plain = bank()
    with_versions = bank()
    with_versions.versions = [[np.full_like(im, 10 * (v + 1)) for v in range(3)] for im in with_versions.images]
    base = crop_table(plain, 32, 5, 0, 4, 50, 0.5)
    table = crop_table(with_versions, 32, 5, 0, 4, 50, 0.5)
    assert base.shape[1] == 5 and table.shape[1] == 6
    np.testing.assert_array_equal(table[:, :5], base)  # positions, images and order as without versions
    assert set(table[:, 5]) == {0, 1, 2, 3} and np.allclose(np.bincount(table[:, 5]) / len(table), 0.25, atol=0.08)
    np.testing.assert_array_equal(crop_table(with_versions, 32, 5, 2, 4, 50, 0.5), table[100:])  # a resume
    for row in table[:20]:
        image, _ = cut_crop(with_versions, row, 32)
        i, y, x, v = (int(k) for k in row[2:])
        want = with_versions.images[i] if v == 0 else with_versions.versions[i][v - 1]
        np.testing.assert_array_equal(image, want[y : y + 32, x : x + 32].astype(np.float32))


def test_the_bank_holds_prepared_versions_with_the_photographs_masks(tiny_ws):
    prep = Prep.read(tiny_ws / "patches" / PREP_FILE)
    clean = load_bank(tiny_ws / "train.csv", tiny_ws, prep)
    twice = [load_bank(tiny_ws / "train.csv", tiny_ws, prep, versions=photometric.Versions(3, 42)) for _ in range(2)]
    assert clean.versions is None and len(twice[0].versions) == len(clean.images)
    changed = 0
    for i, image in enumerate(clean.images):
        np.testing.assert_array_equal(twice[0].images[i], image)  # the photograph itself is kept as version 0
        np.testing.assert_array_equal(twice[0].masks[i], clean.masks[i])
        for a, b in zip(twice[0].versions[i], twice[1].versions[i], strict=True):
            assert a.shape == image.shape
            np.testing.assert_array_equal(a, b)  # seeded: the same versions on a resume
            changed += not np.array_equal(a, image)
    assert changed >= len(clean.images)  # most versions differ from the photograph


def test_photometric_runs_are_checked_on_resume_and_fine_tuning_starts_from_unseen_weights(tiny_ws, tmp_path, capsys):
    import train
    from lesionseg.checkpoints import load_trained

    crops = ["--sampling", "crops", "--steps-per-epoch", "2", "--workers", "1"]
    with pytest.raises(PipelineError, match="--photometric needs --sampling crops"):
        train_tiny(tiny_ws, tmp_path / "grid", "--epochs", "1", "--photometric", "2")
    with pytest.raises(PipelineError, match="give --photometric N too"):
        train_tiny(tiny_ws, tmp_path / "chance", *crops, "--epochs", "1", "--photometric-chance", "jpeg=0.7")
    first = train_tiny(tiny_ws, tmp_path / "first", *crops, "--epochs", "1", "--photometric", "2")
    import pandas as pd

    from lesionseg.bundle import Bundle

    split = Bundle.read(first).provenance["split"]  # the photographs it was made from, by stem
    assert split["train"] == sorted(set(pd.read_csv(tiny_ws / "train.csv").source))
    assert split["held_out"] == sorted(pd.read_csv(tiny_ws / "test.csv").stem) and split["held_out"]
    assert not set(split["train"]) & set(split["held_out"])
    with pytest.raises(PipelineError, match="photometric"):
        train_tiny(tiny_ws, first, *crops, "--epochs", "2", "--photometric", "3")
    with pytest.raises(PipelineError, match="photometric_chance"):  # JPEG more often: other versions, other crops
        train_tiny(tiny_ws, first, *crops, "--epochs", "2", "--photometric", "2", "--photometric-chance", "jpeg=0.7")
    Bundle.read(first).named("OD").write(first)  # as a shipped model is named
    # learning rate 0: the trainable weights stay those it started from (batch statistics still move)
    tuned = train_tiny(tiny_ws, tmp_path / "tuned", *crops, "--epochs", "1", "--init", str(first),
                       "--learning-rate", "0")
    start, end = load_trained(first), load_trained(tuned)
    for a, b in zip(start.trainable_weights, end.trainable_weights, strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    # the fine-tune keeps how its starting model was made, in its own bundle, so that its card gives every
    # command and the minutes of both even after the starting folder holds another model (a re-shipped one)
    made, tuned_prov = Bundle.read(first).provenance, Bundle.read(tuned).provenance
    assert tuned_prov["started_from"]["from"] == str(first)
    from lesionseg.engines import file_digest  # which weights, even after `first` is retrained in place

    assert tuned_prov["started_from"]["weights_sha256"] == file_digest(first / "model.keras")
    assert tuned_prov["started_from"]["command"] == made["command"] != tuned_prov["command"]
    from lesionseg.card import card

    text = card("tuned", Bundle.read(tuned))
    assert text.index(made["command"]) < text.index(tuned_prov["command"])
    before, after = made["training_minutes"], tuned_prov["training_minutes"]
    assert f"Training minutes: {before + after:.1f} in all ({before} + {after}:" in text
    fresh = train_tiny(tiny_ws, tmp_path / "fresh", *crops, "--epochs", "1", "--learning-rate", "0")
    assert Bundle.read(tuned).lesions == ("OD",) and Bundle.read(fresh).lesions == ("lesion",)  # the name kept
    assert not np.array_equal(np.asarray(load_trained(fresh).trainable_weights[0]),
                              np.asarray(start.trainable_weights[0]))  # without --init: other weights
    # a starting model that learnt from this run's held-out photographs is refused (its figures would
    # score what it was trained on); one that does not record what it learnt is taken, with a warning
    from dataclasses import replace

    for name, learnt in (("leaky", split["train"] + split["held_out"][:1]), ("unrecorded", [])):
        shutil.copytree(first, tmp_path / name)
        made = Bundle.read(first)
        replace(made, provenance=made.provenance | {"split": split | {"train": learnt}}).write(tmp_path / name)
    with pytest.raises(PipelineError, match=rf"leaky: it was trained on 1 of this run's .*\({split['held_out'][0]}\)"):
        train_tiny(tiny_ws, tmp_path / "from-leaky", *crops, "--epochs", "1", "--init", str(tmp_path / "leaky"))
    assert not (tmp_path / "from-leaky" / "model.keras").exists()
    capsys.readouterr()
    train_tiny(tiny_ws, tmp_path / "from-unrecorded", *crops, "--epochs", "1", "--init", str(tmp_path / "unrecorded"))
    assert "does not record the photographs it was trained on" in capsys.readouterr().err
    with pytest.raises(PipelineError, match="not this run's"):
        train.main(["--data", str(tiny_ws), "--checkpoints", str(tmp_path / "other"), "--base-filters", "8",
                    "--depth", "3", "--batch-size", "4", "--no-tensorboard", *crops, "--epochs", "1",
                    "--init", str(first)])
