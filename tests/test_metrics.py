import numpy as np
import pytest
from scipy import ndimage
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score

from lesionseg.lesions import LesionCounts
from lesionseg.metrics import (
    ThresholdCounts,
    aupr_33,
    average_precision,
    choose_threshold,
    confusion,
    froc,
    per_image_means,
    roc_auc,
)


def random_set(seed, n_images=3, shape=(40, 50), levels=1000):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_images):
        truth = rng.random(shape) < 0.15
        prob = np.clip(rng.normal(0.35 + 0.3 * truth, 0.2), 0, 1)
        out.append((np.round(prob * levels) / levels, truth))  # on the bin grid: thresholds match exactly
    return out


def counted(data, region=None):
    c = ThresholdCounts(1000)
    for prob, truth in data:
        c.add(prob, truth, region)
    return c


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_curves_match_scikit_learn(seed):
    data = random_set(seed)
    c = counted(data)
    p = np.concatenate([d[0].ravel() for d in data])
    t = np.concatenate([d[1].ravel() for d in data])
    assert average_precision(c) == pytest.approx(average_precision_score(t, p), abs=1e-9)
    assert roc_auc(c) == pytest.approx(roc_auc_score(t, p), abs=1e-9)
    precision, recall, thr = precision_recall_curve(t, p)
    for k in range(0, len(thr), 37):
        at = c.at(thr[k])
        assert at["ppv"] == pytest.approx(precision[k], abs=1e-12)
        assert at["sensitivity"] == pytest.approx(recall[k], abs=1e-12)


def test_rates_at_a_threshold_match_numpy_counts():
    data = random_set(5)
    c = counted(data)
    p = np.concatenate([d[0].ravel() for d in data])
    t = np.concatenate([d[1].ravel() for d in data])
    pred = p >= 0.42
    tp, fp, fn, tn = (pred & t).sum(), (pred & ~t).sum(), (~pred & t).sum(), (~pred & ~t).sum()
    m = c.at(0.42)
    assert (m["tp"], m["fp"], m["fn"], m["tn"]) == (tp, fp, fn, tn)
    assert m["specificity"] == pytest.approx(tn / (tn + fp))
    assert m["dice"] == pytest.approx(2 * tp / (2 * tp + fp + fn))
    assert m["iou"] == pytest.approx(tp / (tp + fp + fn))


def test_probabilities_exactly_on_a_threshold_count_as_above_it():
    prob = np.arange(1001) / 1000  # every threshold value itself, including 1.0
    c = ThresholdCounts(1000)
    c.add(prob, np.ones_like(prob, bool))
    tp = c.curves()["tp"]
    np.testing.assert_array_equal(tp, [(prob >= k / 1000).sum() for k in range(1001)])


def test_region_restricts_the_counts():
    prob, truth = random_set(3, 1)[0]
    region = np.zeros_like(truth)
    region[10:30, 5:45] = True
    c = counted([(prob, truth)], region)
    assert c.pos.sum() + c.neg.sum() == region.sum() and c.pos.sum() == truth[region].sum()


def test_froc_is_monotone_and_averages_over_images():
    c = counted(random_set(4, n_images=4))
    fp_area, sens = froc(c)
    assert (np.diff(fp_area) <= 0).all() and (np.diff(sens) <= 0).all()
    assert fp_area[0] == c.neg.sum() / 4


def test_aupr_33_uses_33_thresholds_and_is_close_to_the_full_area():
    c = counted(random_set(6))
    assert abs(aupr_33(c) - average_precision(c)) < 0.05


def test_threshold_rules():
    data = random_set(7)
    c = counted(data)
    p = np.concatenate([d[0].ravel() for d in data])
    t = np.concatenate([d[1].ravel() for d in data])
    best = max(np.arange(1001) / 1000, key=lambda th: (2 * ((p >= th) & t).sum()) / ((p >= th).sum() + t.sum()))
    assert choose_threshold(c, "max_dice") == pytest.approx(best)
    thr = choose_threshold(c, "fp_budget", fp_budget=50)
    assert ((p >= thr) & ~t).sum() / 3 <= 50 < ((p >= thr - 0.001) & ~t).sum() / 3
    assert choose_threshold(c, "fixed", fixed=0.3) == 0.3


def test_lesion_counts_against_a_hand_made_case():
    truth = np.zeros((30, 30), bool)
    truth[2:6, 2:6] = True  # lesion A, 16 px
    truth[20:24, 20:24] = True  # lesion B, 16 px
    prob = np.zeros((30, 30))
    prob[2:4, 2:6] = 0.9  # covers half of A
    prob[20, 20] = 0.9  # covers 1/16 of B (< 0.2)
    prob[10:12, 10:12] = 0.9  # a false alarm
    lc = LesionCounts(thresholds=(0.5,), overlap=0.2)
    lc.add(prob, truth)
    curve = lc.curve()
    assert curve["sensitivity"] == [0.5] and curve["fp_per_image"] == [1.0]
    assert ndimage.label(truth)[1] == lc.lesions


def test_per_image_means_average_only_the_images_that_have_the_lesion():
    def image(truth_at, pred_at):
        truth, pred = np.zeros(20, bool), np.zeros(20, bool)
        truth[truth_at], pred[pred_at] = True, True
        return {"lesion_pixels": int(truth.sum())} | confusion(pred, truth)

    rows = [image([0, 1, 2, 3], [2, 3, 4, 5]),  # Dice 0.5, IoU 2/6
            image([8, 9], [8, 9]),  # Dice 1, IoU 1
            image([], [12, 13, 14]),  # no lesion, false alarms: Dice 0, left out
            image([], [])]  # no lesion, nothing predicted: Dice undefined, left out
    m = per_image_means(rows)
    assert m["images"] == 2
    assert m["dice"] == pytest.approx(0.75) and m["iou"] == pytest.approx((2 / 6 + 1) / 2)
    assert np.isnan(per_image_means(rows[2:])["iou"]) and per_image_means(rows[2:])["images"] == 0
