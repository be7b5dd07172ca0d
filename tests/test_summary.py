"""The figures line `make demo` ends with comes from lesionseg.summary, for one lesion or several."""

import json

import pytest

from lesionseg.errors import PipelineError, run_cli
from lesionseg.summary import main, summary_lines


def frame(dice: float, images: int = 4) -> dict:
    return {"test": {"whole_frame": {"dice": dice, "sensitivity": 0.5, "ppv": 0.25, "aupr": 0.875, "images": images}}}


def test_one_lesion_gives_one_line_with_its_figures(tmp_path, capsys):
    path = tmp_path / "metrics.json"
    path.write_text(json.dumps(frame(0.9764) | {"threshold": 0.4}))
    main([str(path), "--what", "synthetic testing images"])
    assert capsys.readouterr().out == ("model on the 4 synthetic testing images: Dice 0.976, sensitivity 0.500, "
                                       "PPV 0.250, AUPR 0.875\n")


def test_several_lesions_give_a_line_each_in_the_stored_order():
    lines = summary_lines({"lesions": {"HE": frame(0.1, 3), "EX": frame(0.2, 3)}})
    assert [line.split(" model")[0] for line in lines] == ["HE", "EX"]
    assert "Dice 0.100" in lines[0] and "Dice 0.200" in lines[1] and "on the 3 testing images" in lines[0]


def test_a_missing_figure_prints_not_a_number_as_na():
    m = frame(float("nan"))
    assert "Dice n/a, sensitivity 0.500" in summary_lines(m)[0]


@pytest.mark.parametrize("content, says", [
    (None, "not found; run evaluate.py first"),
    ("{not json", "unreadable"),
    ('{"test": {}}', "no test figures"),
    ("[1, 2]", "not an evaluate.py metrics file"),
])
def test_bad_metrics_file_is_one_error_line_naming_it(tmp_path, capsys, content, says):
    path = tmp_path / "metrics.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(SystemExit) as exit_:
        run_cli(main, [str(path)])
    err = capsys.readouterr().err
    assert exit_.value.code == 2
    assert err.startswith("error: ") and str(path) in err and says in err and err.count("\n") == 1


def test_several_lesion_file_without_a_lesions_figures_names_the_lesion():
    with pytest.raises(PipelineError, match="for SE"):
        summary_lines({"lesions": {"EX": frame(0.2), "SE": {"test": None}}})
