"""One error type for bad input, so every script ends with one clear line and a non-zero exit."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable


class PipelineError(Exception):
    """A problem with the user's input that they can fix; the message says how."""


def warn(message: str) -> None:
    """Print a warning line on stderr (not Python's warnings: scripts talk to people)."""
    print(f"warning: {message}", file=sys.stderr, flush=True)


def run_cli(main: Callable[[list[str] | None], int | None], argv: list[str] | None = None) -> None:
    """Run a script's main(); turn PipelineError into `error: ...` and exit status 2."""
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    try:
        code = main(argv)
    except PipelineError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(code or 0)
