"""Flags from a script's constants: `BASE_FILTERS` becomes `--base-filters`, same type and default."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

FLAG_TYPES = (bool, int, float, str, Path, tuple, type(None))


def script_constants(namespace: dict[str, Any]) -> dict[str, Any]:
    """The upper-case settings a script has defined so far, in order: call it right after them, so
    each becomes a flag and nothing defined later (or imported under an upper-case name) does."""
    return {k: v for k, v in namespace.items() if k.isupper() and isinstance(v, FLAG_TYPES)}


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
    helps = helps or {}
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

