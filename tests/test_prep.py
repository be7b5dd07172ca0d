import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from scipy import ndimage

import extract_patches
from lesionseg.errors import PipelineError
from lesionseg.prep import NEUTRAL, Prep, clahe, green_clahe, green_flat, prepare_image, prepare_mask, to_original


def test_area_filter_averages_each_block_and_mask_share_decides_lesion():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (8, 12, 3)).astype(np.uint8)
    half = prepare_image(image, Prep(0.5))
    assert half.shape == (4, 6, 3)
    block_mean = image.reshape(4, 2, 6, 2, 3).astype(np.float64).mean(axis=(1, 3))
    assert np.abs(half - block_mean).max() <= 1  # area filter: the mean of the 2x2 source pixels
    mask = np.zeros((4, 4), bool)
    mask[0, 0] = True  # one of four source pixels: 25% lesion
    mask[2:4, 2] = True  # two of four: 50%
    assert prepare_mask(mask, Prep(0.5, mask_share=0.5)).tolist() == [[False, False], [False, True]]
    assert prepare_mask(mask, Prep(0.5, mask_share=0.25)).tolist() == [[True, False], [False, True]]
    assert prepare_mask(mask, Prep(1.0)) is not mask and (prepare_mask(mask, Prep(1.0)) == mask).all()


def test_probabilities_go_back_to_the_original_size():
    prob = np.array([[0.0, 1.0], [1.0, 0.0]], np.float32)
    full = to_original(prob, 5, 7)
    assert full.shape == (5, 7) and full.dtype == np.float32 and 0 <= full.min() and full.max() <= 1
    assert to_original(prob, 2, 2) is prob


def test_clahe_raises_local_contrast_and_keeps_the_colour():
    rng = np.random.default_rng(0)
    faint = rng.integers(0, 12, (128, 128))  # a dull retina: red channel within 12 grey levels
    red = np.stack([120 + faint, 60 + 0 * faint, 30 + 0 * faint], axis=2).astype(np.uint8)
    out = clahe(red)
    assert out.shape == red.shape and out.dtype == np.uint8
    assert out[..., 0].std() > 1.5 * red[..., 0].std()  # the faint detail is stretched
    assert (out[..., 0] > out[..., 2]).all()  # still a red image
    np.testing.assert_array_equal(prepare_image(red, Prep(preprocess="clahe")), out)


def test_green_clahe_stretches_the_green_channel_alone_into_all_three():
    rng = np.random.default_rng(1)
    faint = rng.integers(0, 12, (128, 128))  # vessel detail: a few grey levels of green
    photo = np.stack([200 + 0 * faint, 80 + faint, 30 + 0 * faint], axis=2).astype(np.uint8)
    out = green_clahe(photo)
    assert out.shape == photo.shape and out.dtype == np.uint8
    assert (out == out[..., :1]).all()  # one grey image in the three inputs
    assert out[..., 0].std() > 1.5 * photo[..., 1].std()  # the faint green detail is stretched
    other = photo.copy()
    other[..., 0], other[..., 2] = rng.integers(0, 256, (2, 128, 128))  # red and blue play no part
    np.testing.assert_array_equal(green_clahe(other), out)
    np.testing.assert_array_equal(prepare_image(photo, Prep(preprocess="green_clahe")), out)


def _lit_disc_with_a_ramp_and_two_vessels(size: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """A retina disc on black, lit from dark (left) to bright (right), crossed by a thin dark line
    on each side; the green channel carries it all."""
    yy, xx = np.mgrid[:size, :size]
    disc = (yy - size / 2) ** 2 + (xx - size / 2) ** 2 < (0.45 * size) ** 2
    green = 40.0 + 150.0 * xx / size  # the uneven lighting: 40 to 190
    for column in (size // 3, 2 * size // 3):
        green[np.abs(xx - column) <= 1] -= 25  # a 3 px vessel, 25 grey levels darker than around it
    rgb = np.stack([green + 40, green, green / 3], axis=2)
    rgb[~disc] = 0
    return np.clip(rgb, 0, 255).astype(np.uint8), disc


def test_green_flat_removes_uneven_lighting_keeps_thin_vessels_and_leaves_no_ring():
    photo, disc = _lit_disc_with_a_ramp_and_two_vessels()
    size = photo.shape[0]
    out = green_flat(photo)
    assert out.shape == photo.shape and out.dtype == np.uint8
    assert (out == out[..., :1]).all()  # one grey image in the three inputs
    grey, plain = out[..., 0].astype(float), green_clahe(photo)[..., 0].astype(float)
    rows = slice(size // 2 - 20, size // 2 + 20)

    def side_mean(img: np.ndarray, cols: slice) -> float:
        return float(img[rows, cols].mean())

    # the ramp: the background left against right of the disc, away from both vessels
    left, right = slice(size // 6 - 5, size // 6 + 5), slice(5 * size // 6 - 5, 5 * size // 6 + 5)
    ramp_left = abs(side_mean(grey, right) - side_mean(grey, left))
    assert ramp_left < 0.25 * abs(side_mean(plain, right) - side_mean(plain, left))
    for column in (size // 3, 2 * size // 3):  # each vessel still clearly darker than beside it
        beside = (side_mean(grey, slice(column - 8, column - 4)) + side_mean(grey, slice(column + 5, column + 9))) / 2
        assert beside - side_mean(grey, slice(column - 1, column + 2)) > 20
    outside = out[..., 0][~disc].astype(int)  # flat before equalisation; the tiles' maps vary it a little
    assert abs(outside.mean() - NEUTRAL) < 16 and outside.max() - outside.min() < 40
    # no ring along the disc's edge: its rim looks like the retina's interior (the vessels left out)
    away = np.ones_like(disc)
    away[:, [c + d for c in (size // 3, 2 * size // 3) for d in range(-6, 7)]] = False
    rim = disc & ~ndimage.binary_erosion(disc, iterations=4) & away
    assert abs(grey[rim].mean() - grey[ndimage.binary_erosion(disc, iterations=15) & away].mean()) < 5
    other = photo.copy()
    other[..., 0], other[..., 2] = np.where(disc, np.random.default_rng(2).integers(30, 256, (2, size, size)), 0)
    np.testing.assert_array_equal(green_flat(other), out)  # red and blue play no part
    np.testing.assert_array_equal(prepare_image(photo, Prep(preprocess="green_flat")), out)
    dim = green_flat(photo // 12)[..., 0].astype(float)  # too dark (< 20) to find a surround: kept, not blanked
    column = size // 3
    assert dim[rows, column - 8 : column - 4].mean() - dim[rows, column - 1 : column + 2].mean() > 3


def test_settings_round_trip_and_bad_values(tmp_path):
    p = Prep(0.5, 0.25, "clahe")
    p.write(tmp_path / "prep.json")
    assert Prep.read(tmp_path / "prep.json") == p
    assert Prep.read(tmp_path / "absent.json") == Prep()  # folders made before the settings existed
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(PipelineError, match=r"bad\.json: unreadable settings"):
        Prep.read(tmp_path / "bad.json")
    with pytest.raises(PipelineError, match="scale must be in"):
        Prep(0.0)
    with pytest.raises(PipelineError, match="unknown preprocessing 'gamma'"):
        Prep(preprocess="gamma")


def test_extract_patches_lays_the_grid_in_scaled_pixels(tiny_ws, tmp_path):
    import shutil

    ws = tmp_path / "ws"
    shutil.copytree(tiny_ws, ws, ignore=shutil.ignore_patterns("patches"))
    extract_patches.main(["--data", str(ws), "--scale", "0.5", "--patch-size", "64", "--stride", "32",
                          "--preprocess", "clahe", "--workers", "1", "--neg-per-pos", "-1"])
    assert json.loads((ws / "patches" / "prep.json").read_text()) == {"scale": 0.5, "mask_share": 0.5,
                                                                      "preprocess": "clahe"}
    table = pd.read_csv(ws / "patches" / "patches.csv")
    one = table[table.source == table.source.iloc[0]]
    # tiny_ws images are 320x224: 160x112 at scale 0.5, so x in {0, 32, 64, 96}, y in {0, 32, 48}
    assert sorted(set(one.x)) == [0, 32, 64, 96] and sorted(set(one.y)) == [0, 32, 48]
    first = table.iloc[0]
    assert Image.open(ws / first.patch_image).size == (64, 64)
    mask = np.asarray(Image.open(ws / first.patch_mask)) > 0
    assert mask.sum() == first.lesion_pixels


def test_fov_rule_resamples_each_photograph_to_the_stored_field_of_view(capsys):
    from lesionseg.fov import fov_diameter
    from lesionseg.synthetic import fundus

    big, _ = fundus(900, 600, seed=2)
    small = np.asarray(Image.fromarray(big).resize((450, 300), Image.BOX))  # the same retina, another camera
    prep = Prep(0.5, preprocess="none", scale_by="fov", fov_diameter=400.0)
    for photo in (big, small):
        factor = prep.factor(photo, "photo")
        assert factor == pytest.approx(400.0 / fov_diameter(photo))
        # the field of view is as wide in the network's input whatever the photograph's size
        assert abs(fov_diameter(prepare_image(photo, prep, factor)) - 400) <= 8
    assert abs(prep.factor(small) / prep.factor(big) - 2) < 0.03
    # a mask's factor is its photograph's: it cannot be measured on the mask itself
    with pytest.raises(ValueError, match="pass it"):
        prepare_mask(np.zeros((600, 900), bool), prep)
    # the factor rule ignores the field of view: half of each photograph's own size
    assert Prep(0.5).factor(small) == Prep(0.5).factor(big) == 0.5
    assert capsys.readouterr().err == ""


def test_without_a_field_of_view_the_fov_rule_falls_back_to_the_factor_and_says_so(capsys):
    prep = Prep(0.5, scale_by="fov", fov_diameter=400.0)
    inside = np.full((300, 400, 3), 120, np.uint8)  # a crop inside the disc: no dark surround
    assert prep.factor(inside, "crop.jpg") == 0.5
    err = capsys.readouterr().err
    assert err.startswith("warning: crop.jpg: no round field of view found") and "factor 0.5" in err


def test_scale_rule_is_stored_and_an_old_record_reads_as_the_factor_rule(tmp_path):
    fov = Prep(0.5, 0.5, "clahe", scale_by="fov", fov_diameter=1724.0)
    fov.write(tmp_path / "prep.json")
    assert Prep.read(tmp_path / "prep.json") == fov
    Prep(0.5, 0.5, "clahe").write(tmp_path / "old.json")
    assert json.loads((tmp_path / "old.json").read_text()) == {"scale": 0.5, "mask_share": 0.5, "preprocess": "clahe"}
    assert Prep.read(tmp_path / "old.json").scale_by == "factor"
    with pytest.raises(PipelineError, match="positive field-of-view diameter"):
        Prep(scale_by="fov")
    with pytest.raises(PipelineError, match="unknown scale rule"):
        Prep(scale_by="height")


def test_extract_patches_by_field_of_view_gives_two_cameras_one_scale(tmp_path, capsys):
    import gt_binary
    from lesionseg.fov import fov_diameter
    from lesionseg.synthetic import fundus

    raw = tmp_path / "raw"
    (raw / "images").mkdir(parents=True)
    (raw / "masks").mkdir()
    diameters = []
    for i, width in enumerate((640, 320, 640)):  # one photograph from a camera of half the resolution
        img, mask = fundus(640, 424, seed=20 + i, n_clusters=3)
        size = (width, width * 424 // 640)
        img = np.asarray(Image.fromarray(img).resize(size, Image.BOX))
        Image.fromarray(img).save(raw / "images" / f"im{i}.png")
        Image.fromarray(mask.astype(np.uint8) * 255).resize(size, Image.NEAREST).save(raw / "masks" / f"im{i}.png")
        diameters.append(fov_diameter(img))
    ws = tmp_path / "ws"
    gt_binary.main(["--raw", str(raw), "--data", str(ws), "--workers", "1"])
    extract_patches.main(["--data", str(ws), "--scale", "0.5", "--scale-by", "fov", "--patch-size", "64",
                          "--stride", "32", "--workers", "1", "--neg-per-pos", "-1", "--level", "150",
                          "--test-fraction", "0"])  # all three train: none is drawn as held out later
    stored = Prep.read(ws / "patches" / "prep.json")
    assert stored.scale_by == "fov" and stored.fov_diameter == pytest.approx(0.5 * np.median(diameters), abs=0.05)
    assert stored.level == 150
    assert "resampled to" in capsys.readouterr().out
    table = pd.read_csv(ws / "patches" / "patches.csv")
    # the small photograph is enlarged, the large ones shrunk: all three tile into the same grid (the
    # last row and column snapped to an edge that may differ by a pixel or two)
    grids = {s: np.array(sorted(zip(g.y, g.x, strict=True))) for s, g in table.groupby("source")}
    assert grids["im0"].shape == grids["im1"].shape == grids["im2"].shape
    assert np.abs(grids["im0"] - grids["im1"]).max() <= 3 and np.abs(grids["im0"] - grids["im2"]).max() <= 3


def test_level_normalisation_brings_a_dark_photograph_to_the_stored_light_level():
    from lesionseg.corruptions import darken
    from lesionseg.fov import fov_from_image
    from lesionseg.synthetic import fundus
    from lesionseg.tone import normalise_level

    photo, _ = fundus(600, 400, seed=4)

    def level(x):
        return np.median(x.max(axis=2)[fov_from_image(x)])

    for dim in (1.0, 0.6, 0.4):
        out = normalise_level(darken(photo, dim), 150.0)
        assert abs(level(out) - 150) <= 2, dim
    # the gain is one number: colour ratios are kept, and a dimmed photograph comes back close to the original
    back = normalise_level(darken(photo, 0.5), level(photo))
    assert np.abs(back.astype(int) - photo).mean() < 2
    assert Prep(level=150).as_dict()["level"] == 150 and "level" not in Prep().as_dict()  # stored only when used
    np.testing.assert_array_equal(prepare_image(photo, Prep()), photo)  # 0: the paper's, kept as it is


def test_colour_normalisation_undoes_darkening_and_casts_channel_by_channel(tmp_path, tiny_ws):

    from lesionseg.corruptions import cast, darken, temperature
    from lesionseg.prep import PREP_FILE
    from lesionseg.synthetic import fundus
    from lesionseg.tone import channel_medians, normalise_colour

    photo, _ = fundus(600, 400, seed=4)
    target = tuple(float(v) for v in channel_medians(photo))
    for changed in (darken(photo, 0.5), cast(photo, 0.3, 1), temperature(cast(darken(photo, 0.6), 0.2), 0.3, 2)):
        assert np.abs(channel_medians(changed) - target).max() > 10  # the change moves some channel's median
        out = normalise_colour(changed, target)
        assert np.abs(channel_medians(out) - target).max() <= 2
        assert np.abs(out.astype(int) - photo).mean() < 4  # back close to the photograph, not just its medians
    # stored with a model like the other parameters, read back from JSON or from a typed "R,G,B"
    from conftest import check_stored_prep, extract_copy

    prep = Prep(preprocess="clahe", colour=(163, 81, 13))
    check_stored_prep(prep, [{"colour": (1.0, 2.0)}, {"colour": (160.0, 0.0, 20.0)},
                             {"colour": (160.0, 80.0, 20.0), "level": 150}], "colour")
    assert Prep.from_dict({"colour": "163,81,13", "preprocess": "clahe"}) == prep and "colour" not in Prep().as_dict()
    ws = tmp_path / "ws"
    assert extract_copy(tiny_ws, ws, "--colour", "150,80,20").colour == (150.0, 80.0, 20.0)
    with pytest.raises(PipelineError, match="--colour"):
        extract_patches.main(["--data", str(ws), "--colour", "150,80"])
    extract_patches.main(["--data", str(ws), "--patch-size", "64", "--stride", "32", "--workers", "1",
                          "--colour", "auto"])  # measured on the training photographs only
    from lesionseg.imageio import read_rgb

    # the layout has no testing set, so traintest_split.py draws one (test.csv, same fraction and seed):
    # those photographs' colour stays out of the medians, as their masks stay out of training
    manifest = pd.read_csv(ws / "manifest.csv")
    held_out = set(pd.read_csv(ws / "test.csv").image)
    assert held_out and held_out < set(manifest.image) and (manifest.split != "test").all()

    def medians_of(images) -> tuple[float, ...]:
        found = [channel_medians(read_rgb(ws / p if not Path(p).is_absolute() else Path(p))) for p in images]
        return tuple(round(float(v), 1) for v in np.median(np.stack(found), axis=0))

    want = medians_of(sorted(set(manifest.image) - held_out))
    assert want != medians_of(manifest.image)  # the held-out photograph would move them
    assert Prep.read(ws / "patches" / PREP_FILE).colour == want and min(want) > 0


def test_colour_spread_keeps_a_nearly_empty_channel_from_being_multiplied_up():
    """Why: IDRiD's blue medians are 0 to 71 levels, so an own gain for blue (up to 4x) amplifies noise
    and compression blocks; a spread ties it to the well-measured red gain."""
    from lesionseg.corruptions import darken
    from lesionseg.synthetic import fundus
    from lesionseg.tone import channel_medians, normalise_colour

    photo, _ = fundus(600, 400, seed=4)
    dim_blue = photo.copy()
    dim_blue[..., 2] = dim_blue[..., 2] // 8  # a camera whose blue channel holds a few levels, as many of IDRiD's
    target = tuple(float(v) for v in channel_medians(photo))
    free = normalise_colour(dim_blue, target)
    held = normalise_colour(dim_blue, target, spread=1.5)
    red = channel_medians(dim_blue)[0]
    # without a spread the blue channel is multiplied (up to 4x, noise and all); with it, at most 1.5x
    # red's gain, which is 1 here since red is at its median already
    assert channel_medians(free)[2] > 2.5 * channel_medians(dim_blue)[2]
    assert channel_medians(held)[2] <= 1.5 * channel_medians(dim_blue)[2] + 1
    np.testing.assert_array_equal(held[..., :2], free[..., :2])  # the other channels are as before
    assert abs(channel_medians(held)[0] - red) <= 1
    # a darkening is still undone in every channel: the spread is relative to the lead channel's gain
    out = normalise_colour(darken(photo, 0.4), target, spread=1.5)
    assert np.abs(channel_medians(out) - target).max() <= 3
    # stored with a model only when used, and only with a colour target
    prep = Prep(preprocess="clahe", colour=(163, 81, 13), colour_spread=1.5)
    assert Prep.from_dict(json.loads(json.dumps(prep.as_dict()))) == prep
    assert "colour_spread" not in Prep(colour=(163, 81, 13)).as_dict()
    for bad in ({"colour_spread": 1.5}, {"colour": (163.0, 81.0, 13.0), "colour_spread": 0.5}):
        with pytest.raises(PipelineError, match="spread"):
            Prep(**bad)
    # and it is what the preparation applies
    applied = Prep(preprocess="clahe", colour=target, colour_spread=1.5)
    np.testing.assert_array_equal(prepare_image(dim_blue, applied), prepare_image(held, Prep(preprocess="clahe")))


def test_a_split_that_holds_out_a_measured_photograph_says_so(tmp_path, tiny_ws, capsys):
    """Why: --colour auto leaves out the photographs traintest_split.py will hold out only if both use
    the same fraction and seed; a split drawn otherwise must not pass in silence."""
    from conftest import extract_copy

    import traintest_split

    ws = tmp_path / "ws"
    extract_copy(tiny_ws, ws, "--colour", "auto")
    traintest_split.main(["--data", str(ws), "--test-fraction", "0.2", "--val-fraction", "0.25"])
    assert "warning" not in capsys.readouterr().err  # the same draw as extract_patches.py's
    traintest_split.main(["--data", str(ws), "--test-fraction", "0.6", "--val-fraction", "0.25"])
    err = capsys.readouterr().err
    assert "measured the field-of-view width or the colour medians on" in err and "--test-fraction 0.6" in err
    # nothing measured (typed medians, factor rule): nothing to say
    typed = tmp_path / "typed"
    extract_copy(tiny_ws, typed, "--colour", "150,80,20")
    traintest_split.main(["--data", str(typed), "--test-fraction", "0.6", "--val-fraction", "0.25"])
    assert "warning" not in capsys.readouterr().err


def test_a_layout_with_a_testing_set_measures_colour_on_every_training_photograph(raw_idrid, tmp_path):
    """Why: with IDRiD's own testing set, traintest_split.py holds out exactly that set, so every
    training photograph (none drawn aside) gives its colour to --colour auto."""
    import json

    import gt_binary
    from lesionseg.imageio import read_rgb, resolve
    from lesionseg.split import MEASURED_FILE
    from lesionseg.tone import channel_medians

    ws = tmp_path / "ws"
    gt_binary.main(["--raw", str(raw_idrid), "--data", str(ws), "--workers", "1"])
    extract_patches.main(["--data", str(ws), "--patch-size", "256", "--stride", "256", "--workers", "1",
                          "--colour", "auto"])
    manifest = pd.read_csv(ws / "manifest.csv")
    training = manifest[manifest.split != "test"]
    assert 3 <= len(training) < len(manifest)
    found = [channel_medians(read_rgb(resolve(p, ws))) for p in training.image]
    want = tuple(round(float(v), 1) for v in np.median(np.stack(found), axis=0))
    assert Prep.read(ws / "patches" / "prep.json").colour == want
    assert json.loads((ws / "patches" / MEASURED_FILE).read_text())["stems"] == sorted(training.stem)


def test_a_scale_that_disagrees_with_the_given_field_of_view_is_refused(tmp_path):
    """--fov-diameter sets the working size and --scale is only the fallback, so a --scale 0.375 beside a
    half-scale diameter once trained a whole run at half scale unnoticed: now it stops with the diameter
    that would give that scale. A scale that agrees (within 10%) is accepted."""
    import gt_binary
    from lesionseg.errors import PipelineError
    from lesionseg.fov import fov_diameter
    from lesionseg.synthetic import fundus

    raw = tmp_path / "raw"
    (raw / "images").mkdir(parents=True)
    (raw / "masks").mkdir()
    img, mask = fundus(640, 424, seed=3, n_clusters=3)
    Image.fromarray(img).save(raw / "images" / "im0.png")
    Image.fromarray(mask.astype(np.uint8) * 255).save(raw / "masks" / "im0.png")
    ws = tmp_path / "ws"
    gt_binary.main(["--raw", str(raw), "--data", str(ws), "--workers", "1"])
    half = 0.5 * fov_diameter(img)
    flags = ["--data", str(ws), "--scale-by", "fov", "--patch-size", "64", "--stride", "32", "--workers", "1",
             "--test-fraction", "0", "--fov-diameter", f"{half:.1f}"]
    with pytest.raises(PipelineError, match=f"scale 0.50.*--fov-diameter {0.375 * fov_diameter(img):.1f} for scale "
                                            "0.375"):
        extract_patches.main([*flags, "--scale", "0.375"])
    assert not (ws / "patches").exists()
    extract_patches.main([*flags, "--scale", "0.5"])
    assert Prep.read(ws / "patches" / "prep.json").fov_diameter == pytest.approx(half, abs=0.05)
