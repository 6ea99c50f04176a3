"""A template's TOML text → a Template, or the problems that keep it from being one, each
at its line. The file's stem is the name. Only the file's shape is read here; what the
jinja2 texts say is check.py's."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Collection
from pathlib import Path
from typing import Any, cast

from chatapp.core.templates.lines import KeyLines, Location
from chatapp.core.templates.model import (
    VARIABLE_TYPES,
    Example,
    Problem,
    Template,
    Value,
    Variable,
    VariableType,
)

TOP_KEYS = (
    "title", "description", "tags", "main", "system", "user", "version",
    "variables", "params", "example",
)  # fmt: skip
VARIABLE_KEYS = ("description", "type", "required", "default", "choices")
PARAMS = ("temperature", "top_p", "max_tokens")
EXAMPLE_KEYS = ("variables", "output")
# Variables are jinja2 names: `{{ my-var }}` would be a subtraction.
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def parse_template(
    text: str, *, name: str, path: Path, builtin: bool = False
) -> tuple[Template | None, list[Problem]]:
    """The template in text, or None and every problem found (none when it parses)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        return None, [_toml_problem(path, error)]
    reader = _Reader(path, text)
    template = reader.template(data, name, builtin)
    if reader.problems:
        return None, reader.problems
    return template, []


def _toml_problem(path: Path, error: tomllib.TOMLDecodeError) -> Problem:
    message = str(error)
    match = re.search(r"\(at line (\d+), column \d+\)", message)
    problem = re.sub(r"\s*\(at (?:line \d+, column \d+|end of document)\)", "", message)
    return Problem(path, int(match.group(1)) if match else 1, problem or "invalid TOML")


class _Reader:
    """Reads the tables of one file, noting each problem at its line."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.text = text
        self.problems: list[Problem] = []
        self._lines: KeyLines | None = None

    def note(self, location: Location, message: str) -> None:
        if self._lines is None:
            self._lines = KeyLines(self.text)  # only files with problems pay for this
        self.problems.append(Problem(self.path, self._lines.line(*location), message))

    def template(self, data: dict[str, Any], name: str, builtin: bool) -> Template:
        self.unknown(data, TOP_KEYS, ())
        for key in ("title", "main", "user"):
            if key not in data:
                self.note((), f"missing '{key}'{_MISSING_HINTS.get(key, '')}")
        variables = self.variables(data.get("variables", {}))
        main = self.string(data, "main", ())
        declared = data.get("variables", {})
        if main and isinstance(declared, dict) and main not in declared:
            self.note(("main",), f"main variable '{main}' is not declared ([variables.{main}])")
        example = self.example(data, variables)
        if example is None and builtin and "example" not in data:
            self.note((), "a built-in template needs an [example]")
        user = self.string(data, "user", ())
        if "user" in data and not user.strip():
            self.note(("user",), "'user' is empty")
        return Template(
            name=name,
            title=self.string(data, "title", ()),
            description=self.string(data, "description", ()),
            tags=self.strings(data, "tags", ()),
            main=main,
            system=self.string(data, "system", ()),
            user=user,
            version=self.version(data),
            variables=variables,
            params=self.params(data.get("params", {})),
            example=example,
            path=self.path,
            builtin=builtin,
        )

    # -- the tables -------------------------------------------------------------------------

    def variables(self, table: Any) -> dict[str, Variable]:
        if not self.is_table(table, ("variables",)):
            return {}
        found: dict[str, Variable] = {}
        for name, item in table.items():
            where = ("variables", name)
            if not _IDENTIFIER.fullmatch(name):
                self.note(where, f"variable name '{name}' must be letters, digits and _")
            elif self.is_table(item, where):
                found[name] = self.variable(name, item)
        return found

    def variable(self, name: str, item: dict[str, Any]) -> Variable:
        where = ("variables", name)
        self.unknown(item, VARIABLE_KEYS, where)
        kind = self.string(item, "type", where) or "line"
        if kind not in VARIABLE_TYPES:
            self.note(
                (*where, "type"), f"variable '{name}': type must be one of {_or(VARIABLE_TYPES)}"
            )
            kind = "line"
        choices = self.strings(item, "choices", where)
        if kind == "choice" and not choices:
            self.note((*where, "type"), f"variable '{name}': type 'choice' needs choices")
        elif choices and kind != "choice":
            self.note((*where, "choices"), f"variable '{name}': choices are for type 'choice' only")
        default = self.default(name, item, kind, choices)
        required = item.get("required", default is None)
        if not isinstance(required, bool):
            self.note((*where, "required"), f"variable '{name}': 'required' must be true or false")
        elif required and default is not None:
            self.note(
                (*where, "default"), f"variable '{name}' is required and has a default; drop one"
            )
        description = self.string(item, "description", where)
        return Variable(
            name, description, cast(VariableType, kind), required is True, default, choices
        )

    def default(
        self, name: str, item: dict[str, Any], kind: str, choices: tuple[str, ...]
    ) -> Value | None:
        if "default" not in item:
            return None
        value = item["default"]
        where = ("variables", name, "default")
        if kind == "number":
            if not _is_number(value):
                self.note(where, f"variable '{name}': default must be a number")
                return None
        elif not isinstance(value, str):
            self.note(where, f"variable '{name}': default must be a string")
            return None
        elif choices and value not in choices:
            self.note(where, f"variable '{name}': default '{value}' is not one of " + _or(choices))
        return cast(Value, value)

    def params(self, table: Any) -> dict[str, float]:
        if not self.is_table(table, ("params",)):
            return {}
        self.unknown(table, PARAMS, ("params",))
        found: dict[str, float] = {}
        for key in PARAMS:
            if key in table:
                value = table[key]
                if _param_ok(key, value):
                    found[key] = value
                else:
                    self.note(("params", key), _PARAM_RULES[key])
        return found

    def example(self, data: dict[str, Any], variables: dict[str, Variable]) -> Example | None:
        table = data.get("example")
        if table is None or not self.is_table(table, ("example",)):
            return None
        self.unknown(table, EXAMPLE_KEYS, ("example",))
        values = table.get("variables", {})
        if not self.is_table(values, ("example", "variables")):
            return None
        for name, value in values.items():
            if name not in variables:
                self.note(
                    ("example", "variables", name),
                    f"example sets '{name}', not a declared variable",
                )
            elif not isinstance(value, str) and not _is_number(value):
                self.note(
                    ("example", "variables", name),
                    f"example value of '{name}' must be a string or a number",
                )
        for name, variable in variables.items():
            if variable.required and name not in values:
                self.note(("example",), f"example has no value for required variable '{name}'")
        if "output" not in table:
            self.note(("example",), "missing 'output' in [example]: what a good reply looks like")
        return Example(dict(values), self.string(table, "output", ("example",)))

    # -- the values -------------------------------------------------------------------------

    def unknown(self, table: dict[str, Any], allowed: Collection[str], where: Location) -> None:
        section = f" in [{'.'.join(where)}]" if where else ""
        for key in table:
            if key not in allowed:
                hint = _UNKNOWN_HINTS.get((where, key), f" (known: {', '.join(allowed)})")
                self.note((*where, key), f"unknown key '{key}'{section}{hint}")

    def is_table(self, value: Any, where: Location) -> bool:
        if isinstance(value, dict):
            return True
        self.note(where, f"'{'.'.join(where)}' must be a table")
        return False

    def string(self, table: dict[str, Any], key: str, where: Location) -> str:
        value = table.get(key, "")
        if isinstance(value, str):
            return value
        self.note((*where, key), f"'{key}' must be a string")
        return ""

    def strings(self, table: dict[str, Any], key: str, where: Location) -> tuple[str, ...]:
        value = table.get(key, [])
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return tuple(value)
        self.note((*where, key), f"'{key}' must be a list of strings")
        return ()

    def version(self, data: dict[str, Any]) -> int | None:
        value = data.get("version")
        if value is None or (isinstance(value, int) and not isinstance(value, bool) and value > 0):
            return value
        self.note(("version",), "'version' must be a whole number, 1 or more")
        return None


_MISSING_HINTS = {
    "main": ": the name of the variable the user types or pipes in",
    "user": ": the jinja2 text of the user's message",
}
_UNKNOWN_HINTS: dict[tuple[Location, str], str] = {
    ((), "name"): " (a template's name is its file's name)",
    (("example",), "input"): ' (its values go in: variables = { name = "..." })',
}
_PARAM_RULES = {
    "temperature": "'temperature' must be a number, 0 or more",
    "top_p": "'top_p' must be a number above 0, at most 1",
    "max_tokens": "'max_tokens' must be a whole number, 1 or more",
}


def _param_ok(key: str, value: Any) -> bool:
    if key == "max_tokens":
        return isinstance(value, int) and not isinstance(value, bool) and value > 0
    if not _is_number(value):
        return False
    return bool(value >= 0) if key == "temperature" else bool(0 < value <= 1)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _or(choices: Collection[str]) -> str:
    return ", ".join(choices)
