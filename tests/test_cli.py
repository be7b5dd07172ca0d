"""Every script's constants are its flags, and a machine without a GPU starts without noise lines."""

import ast
import os
import subprocess
import sys

import pytest
from conftest import ROOT

from lesionseg.quiet import filtered_stderr

SCRIPTS = ["gt_binary", "extract_patches", "traintest_split", "train", "evaluate", "infer", "make_demo_data"]


@pytest.mark.parametrize("name", SCRIPTS)
def test_each_constant_at_the_top_is_a_flag_and_nothing_else_is(name):
    source = (ROOT / f"{name}.py").read_text()
    assigned = []
    for node in ast.parse(source).body:
        targets = node.targets if isinstance(node, ast.Assign) else []
        names = [t.id for t in targets if isinstance(t, ast.Name)]
        if names == ["CONSTANTS"]:
            break
        assigned += [n for n in names if n.isupper()]
    module = __import__(name)
    assert list(module.CONSTANTS) == assigned
    # each has its own comment on its line, its --help text (a comment above a constant would continue
    # the one before it, and leave this one without any)
    assert [k for k in assigned if k not in module.CONSTANTS.helps] == []
    flags = {a.dest for a in module.constants_parser("", module.CONSTANTS)._actions}
    assert {k.lower() for k in assigned} <= flags


def _quiet_run(args: list[str]) -> subprocess.CompletedProcess:
    """A Python run as a user starts it: without the TF_CPP variables that hide the noise."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_CPP")}
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True)


def test_noise_lines_are_held_back_and_the_rest_passes(capfd):
    with filtered_stderr(("Could not find cuda drivers",)):
        os.write(2, b"I0000 cudart_stub.cc:31] Could not find cuda drivers on your machine\n")
        os.write(2, b"a real problem\n")
    err = capfd.readouterr().err
    assert err == "a real problem\n"


def test_loading_tensorflow_prints_no_error_lines():
    code = ("from lesionseg.quiet import quiet_tensorflow; quiet_tensorflow(); import keras; "
            "print(float(keras.ops.sum(keras.ops.ones(3))))")
    res = _quiet_run(["-c", code])
    assert res.returncode == 0 and res.stdout.strip() == "3.0"
    assert res.stderr == "", res.stderr


@pytest.mark.parametrize("args", [["train.py", "--help"], ["evaluate.py", "--help"], ["infer.py", "--help"],
                                  ["-m", "lesionseg.ship", "--help"], ["bench/largest_component.py", "--help"]])
def test_a_script_that_loads_keras_to_build_its_flags_prints_no_start_up_noise(args):
    res = _quiet_run(args)
    assert res.returncode == 0 and "usage:" in res.stdout
    assert res.stderr == "", res.stderr


def test_listing_the_shipped_models_reads_their_bundles_without_loading_a_network():
    code = ("import sys, infer; code = infer.main(['--list-models']); "
            "print('loaded' if 'tensorflow' in sys.modules or 'keras' in sys.modules else 'light', code)")
    res = _quiet_run(["-c", code])
    assert res.stderr == "", res.stderr
    shipped = sorted(p.name for p in (ROOT / "models").iterdir() if (p / "bundle.json").is_file())
    assert shipped and all(name in res.stdout for name in shipped)
    assert res.stdout.split()[-2:] == ["light", "0"]


def test_each_constant_s_comment_is_its_help_text():
    import extract_patches
    import train

    text = " ".join(train.build_parser().format_help().split())  # argparse wraps the lines
    assert "--base-filters BASE_FILTERS the paper: 16, 32, ..., 1024 (default: 16)" in text
    assert "--learning-rate LEARNING_RATE Adam (the paper); with cosine, the peak after the warm-up (default: 0.0001)" \
        in text
    prep = " ".join(extract_patches.build_parser().format_help().split())
    # a comment continued on the next line belongs to the constant above it
    assert "green_clahe: the green one, as grey | green_flat: the green one less its broad background" in prep
    from lesionseg.cli import constant_comments

    source = "A = 1  # one\n# continued\n\n# about B\nB = 2\nC = 3  # c\nprint(C)  # not C\n"
    assert constant_comments(source) == {"A": "one continued", "C": "c"}
    from lesionseg.cli import Constants, constants_parser

    bare = Constants({"LEARNING_RATE": 1e-4})
    bare.helps = {}
    assert "--learning-rate LEARNING_RATE default: 0.0001" in " ".join(constants_parser("", bare).format_help().split())


def test_the_flag_tables_of_the_docs_are_written_from_the_parsers(tmp_path):
    """docs/flags.md is what tools/flag_tables.py writes now: a changed constant or comment fails here."""
    res = subprocess.run([sys.executable, str(ROOT / "tools" / "flag_tables.py"), "--check"], cwd=ROOT,
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    text = (ROOT / "docs" / "flags.md").read_text()
    for script in SCRIPTS:
        module = __import__(script)
        for name in module.CONSTANTS:
            assert f"`--{name.lower().replace('_', '-')}" in text, (script, name)
    assert "| `--photometric` | 0 | crops: N other-camera versions" in text
