"""What the full check said about each template file, by the file's (mtime_ns, size): a
start-up reads one JSON file instead of parsing every template's TOML and jinja2 again.

Best effort: a cache that cannot be read or written only makes loading slower."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from chatapp.core.errors import ChatappError
from chatapp.core.templates.model import CheckResult, Problem, from_data, to_data

# Bump when the check or the records change: older entries are then checked again.
CACHE_FORMAT = 1

Stamp = tuple[int, int]


class CheckCache:
    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._entries: dict[str, Any] = self._read()
        self._used: dict[str, Any] = {}
        self._changed = False

    def check(self, path: Path, *, builtin: bool) -> CheckResult:
        """The file's check result: from the cache when the file is unchanged, else by
        checking it now."""
        try:
            stat = os.stat(path)
        except OSError as error:
            return CheckResult(path, None, [Problem(path, 1, f"cannot read: {error.strerror}")])
        stamp = [stat.st_mtime_ns, stat.st_size, builtin]
        key = str(path)
        entry = self._entries.get(key)
        if isinstance(entry, dict) and entry.get("stamp") == stamp:
            # An entry not as this code writes them is checked again, as if missing.
            with contextlib.suppress(KeyError, TypeError, ValueError):
                result = _result(path, entry, builtin)
                self._used[key] = entry
                return result
        from chatapp.core.templates.check import check_file  # TOML and jinja2: only now

        result = check_file(path, builtin=builtin, render_example=False)
        self._used[key] = _entry(result, stamp)
        self._changed = True
        return result

    def write(self) -> None:
        """Keep what this load used (files gone since are dropped)."""
        if self.path is None or not (self._changed or self._used.keys() != self._entries.keys()):
            return
        import orjson

        from chatapp.store.tinystore import make_private_dir, write_atomically

        data = orjson.dumps({"format": CACHE_FORMAT, "entries": self._used})
        with contextlib.suppress(ChatappError, OSError):
            make_private_dir(self.path.parent)
            write_atomically(self.path, data)

    def _read(self) -> dict[str, Any]:
        if self.path is None:
            return {}
        import orjson

        try:
            data = orjson.loads(self.path.read_bytes())
        except (OSError, orjson.JSONDecodeError):
            return {}
        if not isinstance(data, dict) or data.get("format") != CACHE_FORMAT:
            return {}
        entries = data.get("entries")
        return entries if isinstance(entries, dict) else {}


def _entry(result: CheckResult, stamp: list[Any]) -> dict[str, Any]:
    return {
        "stamp": stamp,
        "template": None if result.template is None else to_data(result.template),
        "problems": [[problem.line, problem.message] for problem in result.problems],
    }


def _result(path: Path, entry: dict[str, Any], builtin: bool) -> CheckResult:
    data = entry["template"]
    template = None if data is None else from_data(data, path=path, builtin=builtin)
    problems = [Problem(path, line, message) for line, message in entry["problems"]]
    return CheckResult(path, template, problems)
