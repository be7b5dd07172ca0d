"""A CSV table written one row per finished item, so that a run killed at photograph 9,000 keeps
the 8,999 rows before it and a restarted run can skip them.

Each row is appended as one whole line and flushed to disk before the next item starts; a last line
cut short by a kill (no newline, or the wrong number of fields) is dropped when the table is opened
again, so its item is simply done again. pandas reads the file as any CSV.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Any

from .errors import PipelineError


class RowLog:
    """Append-only rows under a fixed header; `rows` holds those already there when reopened."""

    def __init__(self, path: Path, keep: bool = True):
        self.path = path
        self.rows: list[dict[str, str]] = self._read() if keep and path.is_file() else []
        self.columns: list[str] | None = list(self.rows[0]) if self.rows else None
        self._rewrite()  # the kept rows alone: a cut last line, an empty or a foreign table are gone

    def _read(self) -> list[dict[str, str]]:
        text = self.path.read_text(encoding="utf-8", errors="replace")
        if not text.endswith("\n"):  # the last line was cut by a kill
            text = text[: text.rfind("\n") + 1]
        lines = list(csv.reader(io.StringIO(text)))
        if not lines:
            return []
        header, body = lines[0], lines[1:]
        return [dict(zip(header, line, strict=True)) for line in body if len(line) == len(header)]

    def keep_only(self, key: str, values: set[str]) -> None:
        """Drop the rows whose `key` is not among `values` (items that are no longer part of the run)."""
        self.rows = [r for r in self.rows if r.get(key) in values]
        self._rewrite()

    def _rewrite(self) -> None:
        from .imageio import atomic_path

        if not self.rows:
            self.columns = None
            self.path.unlink(missing_ok=True)
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(self.path) as tmp:
            with tmp.open("w", newline="", encoding="utf-8") as f:
                if self.columns:
                    writer = csv.DictWriter(f, self.columns)
                    writer.writeheader()
                    writer.writerows(self.rows)

    def done(self, key: str) -> set[str]:
        """The values of column `key` among the rows already written."""
        return {r[key] for r in self.rows if key in r}

    def append(self, row: dict[str, Any]) -> None:
        """Write one row to disk now; the first row fixes the header."""
        if self.columns is None:
            self.columns = list(row)
            with self.path.open("w", newline="", encoding="utf-8") as f:
                csv.DictWriter(f, self.columns).writeheader()
        if list(row) != self.columns:
            raise PipelineError(f"{self.path}: a row with columns {list(row)} after {self.columns}; "
                                "segment into another --out")
        with self.path.open("a", newline="", encoding="utf-8") as f:
            csv.DictWriter(f, self.columns).writerow(row)
            f.flush()
            os.fsync(f.fileno())
        self.rows.append({k: str(v) for k, v in row.items()})
