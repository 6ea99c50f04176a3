"""Template records, the problems a template file can have, and the errors of using one.

ChatappError
└── TemplateError            template 'x': what is wrong (one line)
    ├── TemplateNotFound     no template of that name
    ├── MissingVariables     required variables with no value (names listed)
    └── InvalidTemplate      the file has problems; the first, as path:line: message
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, cast

from chatapp.core.errors import ChatappError

VariableType = Literal["text", "line", "choice", "number"]
VARIABLE_TYPES: tuple[VariableType, ...] = ("text", "line", "choice", "number")
Value = str | int | float

# A template's name is its file's stem: a word character first, no separators, so it is
# a safe file name everywhere (letters of any script are fine: 翻译.toml).
NAME_PATTERN = re.compile(r"\w[\w.-]{0,63}")
NAME_RULE = "letters, digits, '-', '_' or '.', a letter or digit first, at most 64"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a template file, at a line of it."""

    path: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass(frozen=True, slots=True)
class Variable:
    name: str
    description: str = ""
    type: VariableType = "line"
    required: bool = True
    default: Value | None = None
    choices: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """The name with what it is for: `text (The English text to translate)`."""
        return f"{self.name} ({self.description})" if self.description else self.name


@dataclass(frozen=True, slots=True)
class Example:
    """One worked example: values for the variables and what a good reply looks like."""

    variables: Mapping[str, Value]
    output: str


@dataclass(frozen=True, slots=True)
class Template:
    name: str
    title: str
    main: str
    user: str
    system: str = ""
    description: str = ""
    tags: tuple[str, ...] = ()
    variables: Mapping[str, Variable] = field(default_factory=dict)
    params: Mapping[str, float] = field(default_factory=dict)
    example: Example | None = None
    version: int | None = None
    path: Path | None = None
    builtin: bool = False

    def suggested_params(self) -> dict[str, float | int]:
        """The sampling it suggests, as generation params (temperature, top_p,
        max_tokens)."""
        suggested: dict[str, float | int] = {
            k: v for k, v in self.params.items() if k in ("temperature", "top_p")
        }
        if "max_tokens" in self.params:
            suggested["max_tokens"] = int(self.params["max_tokens"])
        return suggested


@dataclass(frozen=True, slots=True)
class Rendered:
    """A template filled in: the two prompt texts and the values they were made from."""

    system: str
    user: str
    variables: Mapping[str, Value]


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One file checked: its template when it has no problems."""

    path: Path
    template: Template | None
    problems: list[Problem] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class TemplateVersion:
    """One saved version of a user template."""

    number: int
    saved: datetime
    path: Path


@dataclass
class ImportReport:
    """What importing a folder of patterns did: names imported, (name, why) skipped."""

    imported: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


class TemplateError(ChatappError):
    """A template could not be found, filled in or used; str() is one line."""


class TemplateNotFound(TemplateError):
    def __init__(self, name: str, known: Sequence[str] = ()) -> None:
        import difflib

        close = difflib.get_close_matches(name, known, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        super().__init__(f"no template named '{name}'{hint}")
        self.name = name


class MissingVariables(TemplateError):
    def __init__(self, template: Template, missing: Sequence[Variable]) -> None:
        if len(missing) == 1:
            text = f"template '{template.name}' needs variable '{missing[0].name}'"
            text += f" ({missing[0].description})" if missing[0].description else ""
        else:
            names = ", ".join(variable.name for variable in missing)
            text = f"template '{template.name}': missing variables: {names}"
        super().__init__(text)
        self.names = [variable.name for variable in missing]


class InvalidTemplate(TemplateError):
    def __init__(self, problems: Sequence[Problem]) -> None:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(f"{problems[0]}{more}")
        self.problems = list(problems)


def check_name(name: str) -> str:
    """name if it can be a template's file name; a TemplateError saying why not."""
    if not NAME_PATTERN.fullmatch(name):
        raise TemplateError(f"'{name}' cannot be a template name: {NAME_RULE}")
    return name


def to_data(template: Template) -> dict[str, Any]:
    """The template as plain JSON data (`templates show --json`, the check cache)."""
    return {
        "name": template.name,
        "title": template.title,
        "description": template.description,
        "tags": list(template.tags),
        "main": template.main,
        "version": template.version,
        "system": template.system,
        "user": template.user,
        "variables": {
            name: {
                "description": variable.description,
                "type": variable.type,
                "required": variable.required,
                "default": variable.default,
                "choices": list(variable.choices),
            }
            for name, variable in template.variables.items()
        },
        "params": dict(template.params),
        "example": (
            None
            if template.example is None
            else {"variables": dict(template.example.variables), "output": template.example.output}
        ),
    }


def from_data(data: dict[str, Any], *, path: Path | None, builtin: bool) -> Template:
    """The inverse of to_data (for data this module wrote: no checks)."""
    example = data["example"]
    return Template(
        name=data["name"],
        title=data["title"],
        description=data["description"],
        tags=tuple(data["tags"]),
        main=data["main"],
        version=data["version"],
        system=data["system"],
        user=data["user"],
        variables={
            name: Variable(
                name=name,
                description=item["description"],
                type=cast(VariableType, item["type"]),
                required=item["required"],
                default=item["default"],
                choices=tuple(item["choices"]),
            )
            for name, item in data["variables"].items()
        },
        params=data["params"],
        example=None if example is None else Example(example["variables"], example["output"]),
        path=path,
        builtin=builtin,
    )
