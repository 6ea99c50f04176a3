"""A Template → the TOML text of its file (for saving a record and importing patterns).
Only what the format holds: strings, lists of strings, numbers, booleans, tables."""

from __future__ import annotations

import json
import re

from chatapp.core.templates.model import Template, Value, Variable

# TOML strings may not hold control characters other than tab (and newline when
# multi-line); DEL counts as one.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def to_toml(template: Template) -> str:
    lines = [
        f"title = {_string(template.title)}",
        f"description = {_string(template.description)}",
        f"tags = [{', '.join(_string(tag) for tag in template.tags)}]",
        f"main = {_string(template.main)}",
    ]
    if template.version is not None:
        lines.append(f"version = {template.version}")
    if template.system:
        lines.append(f"system = {_text(template.system)}")
    lines.append(f"user = {_text(template.user)}")
    for variable in template.variables.values():
        lines += ["", f"[variables.{variable.name}]", *_variable(variable)]
    if template.params:
        lines += ["", "[params]"]
        lines += [f"{key} = {_value(value)}" for key, value in template.params.items()]
    if template.example is not None:
        lines += ["", "[example]", f"output = {_text(template.example.output)}"]
        lines += ["", "[example.variables]"]
        lines += [f"{k} = {_text(v)}" for k, v in template.example.variables.items()]
    return "\n".join(lines) + "\n"


def _variable(variable: Variable) -> list[str]:
    lines = [f"description = {_string(variable.description)}", f"type = {_string(variable.type)}"]
    if variable.choices:
        lines.append(f"choices = [{', '.join(_string(choice) for choice in variable.choices)}]")
    if variable.default is not None:
        lines.append(f"default = {_value(variable.default)}")
    else:
        lines.append(f"required = {'true' if variable.required else 'false'}")
    return lines


def _value(value: Value) -> str:
    return _string(value) if isinstance(value, str) else repr(value)


def _text(value: Value) -> str:
    """Multi-line text as a multi-line string, the way a person would write it."""
    if not isinstance(value, str) or "\n" not in value:
        return _value(value)
    if "'''" not in value and not value.endswith("'") and not _CONTROL.search(value):
        return f"'''\n{value}'''"  # literal: backslashes stay as they are
    escaped = value.replace("\\", "\\\\").replace('"""', '""\\"')
    escaped = _CONTROL.sub(lambda match: f"\\u{ord(match.group()):04x}", escaped)
    if escaped.endswith('"'):
        escaped = escaped[:-1] + '\\"'
    return f'"""\n{escaped}"""'


def _string(value: str) -> str:
    # A JSON string is a TOML basic string, but for DEL, which JSON leaves as it is.
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
