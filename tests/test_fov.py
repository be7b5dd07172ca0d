import numpy as np

from lesionseg.fov import fov_from_image
from lesionseg.overlay import FN, FP, TP, error_overlay
from lesionseg.synthetic import fundus


def test_fov_matches_the_lit_disc():
    h, w = 472, 712
    image, _ = fundus(w, h, seed=3)
    yy, xx = np.mgrid[0:h, 0:w]
    disc = ((xx - w / 2) ** 2 + (yy - h / 2) ** 2) <= (0.53 * h) ** 2
    fov = fov_from_image(image)
    iou = (fov & disc).sum() / (fov | disc).sum()
    assert iou > 0.97
    assert not fov[0, 0] and fov[h // 2, w // 2]


def test_error_overlay_colours_and_keeps_single_pixels_when_shrunk():
    image = np.zeros((8, 8, 3), np.uint8)
    truth = np.zeros((8, 8), bool)
    pred = np.zeros((8, 8), bool)
    truth[1, 1] = pred[1, 1] = True  # hit
    pred[5, 5] = True  # false alarm
    truth[6, 2] = True  # miss
    out = error_overlay(image, pred, truth, scale=2)
    assert out.shape == (4, 4, 3)
    for (y, x), colour in (((0, 0), TP), ((2, 2), FP), ((3, 1), FN)):
        assert np.argmax(out[y, x]) == np.argmax(colour) and out[y, x].max() > 100
    assert out[0, 3].max() == 0


def test_preview_prefers_patches_with_lesions(tmp_path):
    from PIL import Image

    from lesionseg.trainlog import pick_preview

    masks = []
    for i in range(40):
        m = np.zeros((8, 8), np.uint8)
        if i in (7, 30, 31):
            m[2, 2] = 255
        Image.fromarray(m).save(tmp_path / f"{i}.png")
        masks.append(str(tmp_path / f"{i}.png"))
    picked = pick_preview(masks, masks, 4)
    assert len(picked) == 4 and {7, 30, 31} <= set(picked)
    assert pick_preview(masks, masks, 4) == picked


def test_diameter_is_the_wider_extent_of_a_disc_cropped_at_top_and_bottom():
    from lesionseg.fov import fov_diameter

    h, w = 472, 712
    image, _ = fundus(w, h, seed=3)  # disc of diameter 1.06 h: cut at the top and bottom, whole across
    assert abs(fov_diameter(image) - 1.06 * h) <= 6
    labelled = image.copy()
    labelled[:20, :60] = 255  # a camera's text label in one corner
    assert abs(fov_diameter(labelled) - 1.06 * h) <= 6


def test_no_round_field_of_view_is_none():
    from lesionseg.fov import fov_diameter

    assert fov_diameter(np.zeros((300, 400, 3), np.uint8)) is None  # nothing lit
    assert fov_diameter(np.full((300, 400, 3), 120, np.uint8)) is None  # a crop inside the disc: no dark corner
    image, _ = fundus(400, 300, seed=1)
    assert fov_diameter(image[100:200, 150:250]) is None
