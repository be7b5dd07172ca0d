"""The Makefile's recipes as a user runs them.

`make demo` runs end to end at a tiny size and ends with its figures line; every `reproduce-*`
target is dry-run (`make -n`) with awkward but real inputs (paths with spaces and quotes, as in
IDRiD's own folder names; TRAIN_EXTRA; each RECIPE), and each command it would run is parsed by that
script's own parser, so a flag that a script no longer has, or a path split in two, fails here
rather than hours into a user's run.
"""

import importlib
import json
import re
import shlex
import shutil
import subprocess
import sys

import pytest
from conftest import ROOT

MAKE = shutil.which("make")
pytestmark = pytest.mark.skipif(MAKE is None, reason="make is not installed")
DATA = "/tmp/my photos/IDRiD (O'Brien copy)"  # never read: the dry run only prints the commands
FIGURES = re.compile(r"model on the (\d+) synthetic testing images: Dice (\d\.\d{3}), sensitivity (\d\.\d{3}), "
                     r"PPV (\d\.\d{3}), AUPR (\d\.\d{3})$", re.M)


def make(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """make in the repository with this interpreter as the project's Python; the virtual environment
    counts as installed (-o), so a test never rebuilds it."""
    return subprocess.run([MAKE, "--no-print-directory", "-C", str(ROOT), "-o", ".venv/.installed",
                           f"PY={sys.executable}", *args], capture_output=True, text=True, timeout=timeout)


def script_calls(dry_run: str) -> list[tuple[str, list[str]]]:
    """(script or module, its arguments) for each Python command a dry run prints, split as bash would."""
    calls = []
    for line in dry_run.replace("\\\n", " ").splitlines():
        tokens = shlex.split(line)
        for i, token in enumerate(tokens[:-1]):
            if token == sys.executable:
                nxt = tokens[i + 1]
                if nxt == "-m" and tokens[i + 2] not in ("pip", "venv"):  # the venv set-up is not ours to parse
                    calls.append((tokens[i + 2], tokens[i + 3:]))
                elif nxt.endswith(".py"):
                    calls.append((nxt[:-3], tokens[i + 2:]))
    return calls


def parse_all(calls: list[tuple[str, list[str]]]) -> dict[str, object]:
    """Each call's arguments through its script's own parser; {script: namespace} (last call wins)."""
    parsed = {}
    for name, argv in calls:
        if name == "make_demo_data" or name.startswith("lesionseg.") or (ROOT / f"{name}.py").is_file():
            module = importlib.import_module(name)
        else:
            pytest.fail(f"the Makefile runs {name}, which is not a script of the project")
        try:
            parsed[name.rsplit(".", 1)[-1]] = module.build_parser().parse_args(argv)
        except SystemExit:
            pytest.fail(f"{name} would refuse the Makefile's arguments: {shlex.join(argv)}")
    return parsed


def dry_run(*args: str) -> dict[str, object]:
    res = make("-n", *args)
    assert res.returncode == 0, res.stdout + res.stderr
    calls = script_calls(res.stdout)
    assert calls, res.stdout
    return parse_all(calls)


@pytest.mark.parametrize("recipe", ["cpu", "paper", "previous"])
@pytest.mark.parametrize("lesion", ["EX", "HE", "EX,HE,MA,SE"])
def test_reproduce_idrid_commands_parse_and_keep_paths_whole(recipe, lesion):
    run = "runs/my run"
    parsed = dry_run("reproduce-idrid", f"DATA={DATA}", f"RECIPE={recipe}", f"LESION={lesion}", f"RUN={run}",
                     "TRAIN_EXTRA=--loss wbce_dice --seed 7")
    assert set(parsed) == {"gt_binary", "extract_patches", "traintest_split", "train", "evaluate"}
    assert str(parsed["gt_binary"].raw) == DATA
    assert parsed["gt_binary"].lesion == tuple(lesion.split(","))
    for stage in ("extract_patches", "traintest_split", "train", "evaluate"):
        assert str(parsed[stage].data) == f"{run}/data"
    assert str(parsed["train"].checkpoints) == f"{run}/checkpoints" == str(parsed["evaluate"].checkpoints)
    assert (parsed["train"].loss, parsed["train"].seed) == ("wbce_dice", 7)  # TRAIN_EXTRA wins over the recipe
    if recipe == "cpu":
        assert parsed["extract_patches"].scale == 0.5 and parsed["extract_patches"].scale_by == "fov"
        assert parsed["evaluate"].tta
        assert parsed["train"].lesion_crop_centre == ("pixel" if lesion == "EX" else "lesion")
    if recipe == "paper":  # the scripts' own defaults are the paper's
        assert (parsed["train"].base_filters, parsed["train"].depth, parsed["train"].epochs) == (16, 7, 100)
        assert parsed["extract_patches"].scale == 1.0 and parsed["train"].sampling == "grid"
        assert parsed["extract_patches"].scale_by == "factor"


def test_the_preparation_measures_on_the_photographs_the_split_trains_on():
    """extract_patches.py measures the colour medians away from the photographs traintest_split.py will
    hold out: both must draw them the same way, also when the seed is changed."""
    for extra in ([], ["SPLIT_SEED=7", "TEST_FRACTION=0.3"]):
        parsed = dry_run("reproduce-idrid", f"DATA={DATA}", *extra)
        prep, split = parsed["extract_patches"], parsed["traintest_split"]
        assert (prep.test_fraction, prep.split_seed) == (split.test_fraction, split.seed)
        assert split.seed == (7 if extra else 42)


def test_reproduce_paper_is_the_paper_recipe_in_its_own_run_folder():
    parsed = dry_run("reproduce-paper", f"DATA={DATA}", "RUN=runs/a b")
    assert str(parsed["gt_binary"].raw) == DATA
    assert str(parsed["train"].data) == "runs/a b-paper/data"
    train = parsed["train"]
    assert (train.learning_rate, train.lr_schedule, train.epochs) == (1e-4, "constant", 100)


def test_zoo_model_trains_on_every_official_training_photograph_and_exports():
    res = make("-n", "zoo-model", f"DATA={DATA}", "LESION=HE", "IDRID_EPOCHS=28")
    assert res.returncode == 0, res.stdout + res.stderr
    calls = script_calls(res.stdout)
    parsed = parse_all(calls)
    assert str(parsed["gt_binary"].raw) == DATA and parsed["gt_binary"].lesion == ("HE",)
    assert str(parsed["train"].data) == "runs/zoo/he/data" and parsed["train"].epochs == 28
    split = parsed["traintest_split"]
    assert (split.val_fraction, split.seed, split.stratify) == (0.1667, 42, True)  # 9 of 54, with and without apart
    assert parsed["evaluate"].tta and str(parsed["evaluate"].results) == "runs/zoo/he/results"
    assert calls[-1] == ("lesionseg.export", ["runs/zoo/he/checkpoints"])
    assert not parsed["evaluate"].largest_component  # lesions come many to a photograph
    disc = parse_all(script_calls(make("-n", "zoo-model", f"DATA={DATA}", "LESION=OD").stdout))
    assert disc["evaluate"].largest_component and disc["evaluate"].tta  # one disc per eye, as shipped


@pytest.mark.parametrize("lesion", ["EX", "HE", "MA", "SE", "OD"])
def test_zoo_model_evaluates_as_the_shipped_model_predicts(lesion):
    """The inference settings chosen on each zoo model's validation photographs and shipped with it are
    the ones `make zoo-model` scores a remade model with."""
    from lesionseg.zoo import entries

    models = [e for e in entries() if tuple(e.bundle.lesions) == (lesion,)]
    assert len(models) == 1, [e.name for e in models]  # one shipped model per structure
    shipped = models[0].bundle.inference
    parsed = parse_all(script_calls(make("-n", "zoo-model", f"DATA={DATA}", f"LESION={lesion}").stdout))
    evaluate = parsed["evaluate"]
    assert parsed["extract_patches"].scale == models[0].bundle.prep.scale  # the disc at a quarter, the rest at half
    assert evaluate.tta_scales == shipped.tta_scales
    assert (evaluate.tta, evaluate.largest_component) == (shipped.tta, shipped.largest_component)


@pytest.mark.parametrize("recipe", ["cpu", "paper", "previous"])
def test_reproduce_drive_commands_parse(recipe):
    parsed = dry_run("reproduce-drive", f"DATA={DATA}/DRIVE/training", f"RECIPE={recipe}", "DRIVE_RUN=runs/drive x",
                     "EVAL_FLAGS=--tta --threshold-rule fixed --fixed-threshold 0.674")
    assert str(parsed["gt_binary"].raw) == f"{DATA}/DRIVE/training"
    assert str(parsed["evaluate"].results) == "runs/drive x/results"
    assert (parsed["evaluate"].threshold_rule, parsed["evaluate"].fixed_threshold) == ("fixed", 0.674)


@pytest.mark.parametrize("target", ["reproduce-idrid", "reproduce-drive", "zoo-model"])
def test_reproduce_without_data_prints_its_usage(target):
    res = make(target)
    assert res.returncode != 0 and f"usage: make {target} DATA=" in res.stdout


def test_demo_defaults_are_the_readme_s():
    parsed = dry_run("demo", "DEMO=demo here")
    assert (parsed["make_demo_data"].n_images, parsed["make_demo_data"].size) == (12, "1424x944")
    assert (parsed["extract_patches"].patch_size, parsed["extract_patches"].stride) == (128, 64)
    assert (parsed["train"].epochs, parsed["train"].steps_per_epoch, parsed["train"].base_filters) == (8, 100, 8)
    assert str(parsed["summary"].metrics) == "demo here/results/metrics.json"
    assert " ".join(parsed["infer"].inputs) == "demo here/IDRiD/A. Segmentation/1. Original Images/b. Testing Set"


@pytest.mark.slow
def test_make_demo_runs_end_to_end_and_prints_its_figures(tmp_path):
    demo = tmp_path / "demo folder"  # a space in the path, as in IDRiD's own folder names
    res = make("demo", f"DEMO={demo}", "DEMO_IMAGES=6", "DEMO_SIZE=480x320", "DEMO_PATCH=64", "DEMO_STRIDE=32",
               "DEMO_EPOCHS=2", "DEMO_STEPS=12", timeout=900)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert "Traceback" not in res.stderr
    found = FIGURES.search(res.stdout)
    assert found, res.stdout[-2000:]
    m = json.loads((demo / "results" / "metrics.json").read_text())["test"]["whole_frame"]
    assert int(found[1]) == m["images"] == 2  # a third of 6 images form the testing set
    assert float(found[5]) == pytest.approx(m["aupr"], abs=5e-4)
    assert (demo / "results" / "infer" / "areas.csv").is_file()
