"""Importing a folder of prompt patterns laid out like fabric's: one folder per pattern
holding `system.md` (and maybe `user.md`). Each becomes a user template whose main
variable is `input`, the text the user types or pipes in."""

from __future__ import annotations

import re
from pathlib import Path

from chatapp.core.templates.dump import to_toml
from chatapp.core.templates.model import (
    NAME_PATTERN,
    ImportReport,
    Template,
    TemplateError,
    Variable,
)
from chatapp.core.templates.versions import save_template_text

INPUT = Variable("input", "The text to work on", "text", required=True)
DESCRIPTION_LENGTH = 120


class _Skip(Exception):
    """This pattern is not imported, for the reason given."""


def import_patterns(folder: Path, user_dir: Path, *, overwrite: bool = False) -> ImportReport:
    """Import every pattern folder in folder as a user template (an existing user template
    of the same name is kept unless overwrite: then it becomes the previous version)."""
    try:
        patterns = sorted(path for path in folder.iterdir() if path.is_dir())
    except OSError as error:
        raise TemplateError(f"{folder}: cannot read: {error.strerror}") from None
    report = ImportReport()
    for pattern in patterns:
        if pattern.name.startswith("."):
            continue
        name = safe_name(pattern.name)
        try:
            if name in report.imported:
                raise _Skip(f"same name as another pattern here ({pattern.name})")
            if not overwrite and (user_dir / f"{name}.toml").exists():
                raise _Skip("a user template of this name exists")
            save_template_text(user_dir, name, to_toml(pattern_template(pattern, name)))
        except _Skip as why:
            report.skipped.append((name or pattern.name, str(why)))
        except TemplateError as error:
            report.skipped.append((name, str(error)))
        else:
            report.imported.append(name)
    return report


def pattern_template(folder: Path, name: str) -> Template:
    """The template for one pattern folder; _Skip says why there is none."""
    if not name:
        raise _Skip("its folder name has no letters or digits to name a template by")
    system = _read(folder / "system.md")
    if system is None:
        raise _Skip("no system.md")
    if not system.strip():
        raise _Skip("system.md is empty")
    user = _read(folder / "user.md") or ""
    if user.strip():
        user = escape_jinja(user.rstrip() + "\n\n")
    return Template(
        name=name,
        title=_title(folder.name),
        description=_description(system),
        tags=("imported",),
        main=INPUT.name,
        system=escape_jinja(system),
        user=user + "{{ input }}",
        variables={INPUT.name: INPUT},
    )


def escape_jinja(text: str) -> str:
    """A jinja2 text that renders to exactly text: `{{` stays `{{`. Raw blocks end at the
    first `{%` that could be `{% endraw %}`, so every `{%` is written outside them."""
    pieces = []
    for index, part in enumerate(text.split("{%")):
        if index:
            pieces.append("{{ '{%' }}")
        if part:
            pieces.append(f"{{% raw %}}{part}{{% endraw %}}")
    return "".join(pieces)


def safe_name(folder_name: str) -> str:
    """A template name from a folder's ('' when none can be made)."""
    name = re.sub(r"[^\w.-]+", "-", folder_name).strip("-._")[:64]
    return name if NAME_PATTERN.fullmatch(name) else ""


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        raise _Skip(f"{path.name} is not UTF-8 text") from None
    except OSError as error:
        raise _Skip(f"cannot read {path.name}: {error.strerror}") from None


def _title(folder_name: str) -> str:
    words = re.sub(r"[_-]+", " ", folder_name).strip()
    return words[:1].upper() + words[1:]


def _description(system: str) -> str:
    """The first sentence of prose: fabric's system.md opens with a generic heading
    (`# IDENTITY and PURPOSE`), then says what the pattern does."""
    lines = [line.strip() for line in system.splitlines() if line.strip()]
    prose = [line for line in lines if not line.startswith("#")]
    first = (prose or lines)[0].lstrip("#").strip()
    sentence = re.split(r"(?<=[.!?])\s+|(?<=[。！？])", first, maxsplit=1)[0]
    if len(sentence) <= DESCRIPTION_LENGTH:
        return sentence
    return sentence[: DESCRIPTION_LENGTH - 1].rstrip() + "…"
