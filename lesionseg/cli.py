"""Flags from a script's constants: `BASE_FILTERS` becomes `--base-filters`, same type and default."""

from __future__ import annotations

import argparse
import io
import re
import tokenize
from pathlib import Path
from typing import Any

FLAG_TYPES = (bool, int, float, str, Path, tuple, type(None))
ASSIGNMENT = re.compile(r"([A-Z][A-Z0-9_]*)\s*=")


class Constants(dict):
    """A script's settings in order, with `helps`: each one's comment in the script, for --help."""

    helps: dict[str, str]


def script_constants(namespace: dict[str, Any]) -> Constants:
    """The upper-case settings a script has defined so far, in order: call it right after them, so
    each becomes a flag and nothing defined later (or imported under an upper-case name) does."""
    constants = Constants((k, v) for k, v in namespace.items() if k.isupper() and isinstance(v, FLAG_TYPES))
    source = Path(namespace.get("__file__", ""))
    constants.helps = constant_comments(source.read_text()) if source.is_file() else {}
    return constants


def constant_comments(source: str) -> dict[str, str]:
    """NAME -> the comment on its line at the top level of a script, with the comment-only lines
    right below it that continue it (a blank line or any code ends it), so the comment written beside
    a constant is also its --help text."""
    comments: dict[str, list[str]] = {}
    current, line_code = None, {}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        row = tok.start[0]
        if tok.type == tokenize.COMMENT:
            text = tok.string.lstrip("#").strip()
            if row in line_code and (m := ASSIGNMENT.match(line_code[row])) and tok.start[1] > 0:
                current = m.group(1)
                comments[current] = [text]
            elif row not in line_code and current:
                comments[current].append(text)
        elif tok.type == tokenize.NL and row not in line_code and tok.line.strip() == "":
            current = None  # a blank line ends a comment
        elif tok.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER):
            if row not in line_code:  # any line of code ends a comment; its own comment may start one
                line_code[row] = tok.line
                current = None
    return {name: " ".join(lines) for name, lines in comments.items()}


def flag_name(constant: str) -> str:
    return "--" + constant.lower().replace("_", "-")


def constants_parser(
    description: str,
    constants: dict[str, Any],
    choices: dict[str, list[Any]] | None = None,
    helps: dict[str, str] | None = None,
    types: dict[str, Any] | None = None,
) -> argparse.ArgumentParser:
    """A parser with one flag per constant, so the top of each script stays the single source."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    choices = choices or {}
    comments = getattr(constants, "helps", {})  # from script_constants: each constant's comment
    commented = {k: f"{v.replace('%', '%%')} (default: %(default)s)" for k, v in comments.items()}
    helps = commented | (helps or {})
    types = types or {}
    for name, default in constants.items():
        # Python 3.11 prints no help at all for a blank string, so the default goes in explicitly.
        help_text = helps.get(name, "default: %(default)s")
        kwargs: dict[str, Any] = {"default": default, "dest": name.lower(), "help": help_text}
        if isinstance(default, bool) or types.get(name) is bool:  # a bool defaulting to None: "not given"
            kwargs["action"] = argparse.BooleanOptionalAction
        elif isinstance(default, tuple):
            kwargs["nargs"] = len(default)
            kwargs["type"] = type(default[0])
        elif isinstance(default, Path):
            kwargs["type"] = Path
        elif default is None:
            kwargs["type"] = str
        else:
            kwargs["type"] = type(default)
        if name in types and types[name] is not bool:
            kwargs["type"] = types[name]
        if name in choices:
            kwargs["choices"] = choices[name]
        parser.add_argument(flag_name(name), **kwargs)
    return parser


def parse_size(text: str) -> tuple[int, int]:
    """'4288x2848' -> (4288, 2848), for --size style flags."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must look like 4288x2848, got {text!r}") from None
    if w < 1 or h < 1:
        raise argparse.ArgumentTypeError(f"size must be positive, got {text!r}")
    return w, h

