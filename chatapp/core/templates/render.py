"""Filling a template in: values checked against its variables, defaults filled, then its
jinja2 texts rendered in a sandbox (no `''.__class__` tricks), missing values an error.

jinja2 is imported on first use only: start-up never pays for it."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING

from chatapp.core.templates.model import (
    MissingVariables,
    Rendered,
    Template,
    TemplateError,
    Value,
    Variable,
)
from chatapp.core.text import is_blank

if TYPE_CHECKING:
    import jinja2
    from jinja2.sandbox import SandboxedEnvironment


@functools.cache
def environment() -> SandboxedEnvironment:
    """The one jinja2 environment of templates: sandboxed, strict about missing values,
    no HTML escaping (prompts are plain text)."""
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(
        undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True
    )


class Renderer:
    """Renders templates; each text is compiled once, when first used."""

    def __init__(self) -> None:
        # Keyed by the text itself: a new version of a template is a new text.
        self._compiled: dict[str, jinja2.Template] = {}

    def render(self, template: Template, values: Mapping[str, Value]) -> Rendered:
        filled = fill(template, values)
        return Rendered(
            system=self._render(template, "system", filled),
            user=self._render(template, "user", filled),
            variables=filled,
        )

    def _render(self, template: Template, part: str, values: dict[str, Value]) -> str:
        from jinja2.exceptions import SecurityError, UndefinedError

        source = template.system if part == "system" else template.user
        if not source:
            return ""
        compiled = self._compile(template, part, source)
        try:
            return compiled.render(values)
        except SecurityError as error:
            raise TemplateError(f"template '{template.name}': unsafe access: {error}") from None
        except UndefinedError as error:
            raise TemplateError(f"template '{template.name}': {error}") from None
        except Exception as error:  # the template is the user's code: its failures are theirs
            raise TemplateError(
                f"template '{template.name}': {part}: {type(error).__name__}: {error}"
            ) from None

    def _compile(self, template: Template, part: str, source: str) -> jinja2.Template:
        from jinja2.exceptions import TemplateSyntaxError

        compiled = self._compiled.get(source)
        if compiled is None:
            try:
                compiled = environment().from_string(source)
            except TemplateSyntaxError as error:
                raise TemplateError(
                    f"template '{template.name}': {part}, line {error.lineno}: {error.message}"
                ) from None
            self._compiled[source] = compiled
        return compiled


def fill(template: Template, values: Mapping[str, Value]) -> dict[str, Value]:
    """Every variable's value: given, else its default, else '' for an optional one;
    MissingVariables lists all the required ones left without a value."""
    for name in values:
        if name not in template.variables:
            known = ", ".join(template.variables) or "none"
            raise TemplateError(f"template '{template.name}' has no variable '{name}' ({known})")
    filled: dict[str, Value] = {}
    missing: list[Variable] = []
    for variable in template.variables.values():
        value = values.get(variable.name)
        if value is not None and not (isinstance(value, str) and is_blank(value)):
            filled[variable.name] = _typed(template, variable, value)
        elif variable.required:
            missing.append(variable)
        else:
            filled[variable.name] = "" if variable.default is None else variable.default
    if missing:
        raise MissingVariables(template, missing)
    return filled


def _typed(template: Template, variable: Variable, value: Value) -> Value:
    """A choice must be one of its choices; a number becomes an int or a float."""
    if variable.type == "choice" and value not in variable.choices:
        choices = ", ".join(variable.choices)
        raise TemplateError(
            f"template '{template.name}': {variable.name} must be one of {choices}, not '{value}'"
        )
    if variable.type == "number" and isinstance(value, str):
        try:
            return float(value) if any(mark in value for mark in ".eE") else int(value)
        except ValueError:
            raise TemplateError(
                f"template '{template.name}': {variable.name} must be a number, not '{value}'"
            ) from None
    return value
