"""Saving a user template keeps the one it replaces: `<user_dir>/NAME.toml` is the current
version, `<user_dir>/.history/NAME/v<N>.toml` the earlier ones, each with its `version`."""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from datetime import datetime
from pathlib import Path

from chatapp.core.templates.check import check_text
from chatapp.core.templates.lines import KeyLines
from chatapp.core.templates.model import (
    InvalidTemplate,
    Template,
    TemplateError,
    TemplateVersion,
    check_name,
)
from chatapp.core.templates.parse import parse_template

HISTORY_DIR = ".history"
_VERSION_FILE = re.compile(r"v([0-9]+)\.toml")


def save_template_text(user_dir: Path, name: str, text: str) -> Template:
    """Check text, then make it the template's next version (the current one goes to the
    history); InvalidTemplate when it has problems, and nothing is written."""
    path = user_dir / f"{check_name(name)}.toml"
    result = check_text(text, name=name, path=path)
    if result.template is None:
        raise InvalidTemplate(result.problems)
    current = _file_version(path)
    earlier = [version.number for version in _history(user_dir, name)]
    number = max([current or 0, *earlier]) + 1
    from chatapp.store.tinystore import make_private_dir, write_atomically

    make_private_dir(user_dir)
    if current is not None:
        _archive(path, user_dir / HISTORY_DIR, name, current, earlier)
    write_atomically(path, with_version(text, number).encode("utf-8"))
    return dataclasses.replace(result.template, version=number)


def versions(user_dir: Path, name: str) -> list[TemplateVersion]:
    """Every saved version of a user template, oldest first (the current one last)."""
    found = {version.number: version for version in _history(user_dir, name)}
    path = user_dir / f"{name}.toml"
    current = _file_version(path)
    if current is not None:
        found[current] = TemplateVersion(current, _mtime(path), path)
    return [found[number] for number in sorted(found)]


def version_text(user_dir: Path, name: str, number: int) -> tuple[Path, str]:
    for version in versions(user_dir, name):
        if version.number == number:
            try:
                return version.path, version.path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as error:
                raise TemplateError(f"{version.path}: cannot read: {error}") from None
    known = ", ".join(str(version.number) for version in versions(user_dir, name)) or "none"
    raise TemplateError(f"template '{name}' has no version {number} (saved: {known})")


def load_version(user_dir: Path, name: str, number: int) -> Template:
    path, text = version_text(user_dir, name, number)
    template, problems = parse_template(text, name=name, path=path)
    if template is None:
        raise InvalidTemplate(problems)
    return template


def diff_versions(user_dir: Path, name: str, old: int, new: int) -> str:
    """A unified diff of two versions' TOML texts ('' when they are the same)."""
    import difflib

    before = version_text(user_dir, name, old)[1].splitlines(keepends=True)
    after = version_text(user_dir, name, new)[1].splitlines(keepends=True)
    lines = difflib.unified_diff(before, after, f"{name} v{old}", f"{name} v{new}")
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def with_version(text: str, number: int) -> str:
    """text with its top-level `version =` line set to number (added before the first
    table when there is none)."""
    lines = text.splitlines(keepends=True)
    where = KeyLines(text)
    new = f"version = {number}\n"
    if ("version",) in where.lines:
        lines[where.lines[("version",)] - 1] = new
        return "".join(lines)
    at = where.first_table - 1 if where.first_table else len(lines)
    while at > 0 and not lines[at - 1].strip():
        at -= 1  # after the last top-level value, not after the blank lines below it
    if at and not lines[at - 1].endswith("\n"):
        lines[at - 1] += "\n"
    lines.insert(at, new)
    return "".join(lines)


def _archive(path: Path, history: Path, name: str, number: int, taken: list[int]) -> None:
    """Copy the current file into the history, keeping its date (when it was saved)."""
    from chatapp.store.tinystore import make_private_dir, write_atomically

    if number in taken:
        number = max(taken) + 1  # edited by hand without changing its version
    for folder in (history, history / name):  # each 0700: mkdir's parents get the umask's
        make_private_dir(folder)
    target = history / name / f"v{number}.toml"
    try:
        stat = path.stat()
        write_atomically(target, path.read_bytes())
        os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    except OSError as error:
        raise TemplateError(f"cannot keep {path} in the history: {error.strerror}") from None


def _history(user_dir: Path, name: str) -> list[TemplateVersion]:
    folder = user_dir / HISTORY_DIR / name
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    found = []
    for entry in entries:
        if match := _VERSION_FILE.fullmatch(entry.name):
            path = Path(entry.path)
            found.append(TemplateVersion(int(match.group(1)), _mtime(path), path))
    return sorted(found, key=lambda version: version.number)


def _file_version(path: Path) -> int | None:
    """The version a template file says it is (1 when it does not say); None: no file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return 1
    number = data.get("version")
    return number if isinstance(number, int) and number > 0 else 1


def _mtime(path: Path) -> datetime:
    try:
        return datetime.fromtimestamp(path.stat().st_mtime)
    except OSError:
        return datetime.fromtimestamp(0)
