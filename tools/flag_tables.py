"""Every script's flags as Markdown tables (docs/flags.md), made from the scripts' own parsers: each
constant's comment at the top of its script is its --help text and its line here, so the manual
cannot drift from the code. --check exits 1 when docs/flags.md is not what this would write.

    .venv/bin/python tools/flag_tables.py            # rewrite docs/flags.md
    .venv/bin/python tools/flag_tables.py --check    # the test suite's check
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ("gt_binary", "extract_patches", "traintest_split", "train", "evaluate", "infer", "make_demo_data")
OUT = ROOT / "docs" / "flags.md"
DEFAULT = re.compile(r"\s*\(default: [^)]*\)\s*$|^default: .*$")


CORES = -12345  # what default_workers() gives while the tables are made: shown as "cores", not this machine's


def _default(action: argparse.Action) -> str:
    value = action.default
    if value == CORES:
        return "the machine's cores"
    if isinstance(action, argparse.BooleanOptionalAction):
        return "on" if value else "off"
    if isinstance(value, Path):
        return f"`{value}`"
    if isinstance(value, float):
        return f"{value:g}"
    if value in ("", None):
        return "(none)"
    return f"`{value}`" if isinstance(value, str) else str(value)


def table(script: str) -> str:
    module = importlib.import_module(script)
    parser = module.build_parser()
    summary = " ".join((parser.description or "").strip().split("\n\n")[0].split())
    rows = ["| flag | default | what it does |", "|---|---|---|"]
    for action in parser._actions:  # argparse keeps no public list of them
        if not action.option_strings or action.dest == "help":
            continue
        flag = action.option_strings[0]
        if isinstance(action, argparse.BooleanOptionalAction):
            flag = f"{flag} / --no-{flag[2:]}"
        choices = " (" + " \\| ".join(str(c) for c in action.choices) + ")" if action.choices else ""
        text = DEFAULT.sub("", (action.help or "") % {"default": action.default}).replace("|", "\\|")
        rows.append(f"| `{flag}`{choices} | {_default(action)} | {text} |")
    return f"## `{script}.py`\n\n{summary}\n\n" + "\n".join(rows) + "\n"


def render() -> str:
    sys.path.insert(0, str(ROOT))
    from lesionseg import parallel

    parallel.default_workers = lambda: CORES  # before the scripts are imported: they read it at import
    parts = [table(s) for s in SCRIPTS]
    head = ("# Flags\n\nEvery constant at the top of a script is also a flag (`BASE_FILTERS` -> `--base-filters`); "
            "this page is written from the scripts' own parsers by `tools/flag_tables.py` (the test suite checks "
            "that it is current), and `python <script>.py --help` says the same.\n\n")
    return head + "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="compare with docs/flags.md instead of writing it")
    args = ap.parse_args(argv)
    text = render()
    if args.check:
        if not OUT.is_file() or OUT.read_text() != text:
            print(f"error: {OUT} is not current; run .venv/bin/python tools/flag_tables.py", file=sys.stderr)
            return 1
        print(f"{OUT} is current")
        return 0
    tmp = OUT.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.replace(OUT)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
