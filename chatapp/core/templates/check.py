"""The full check of a template file: its shape (parse.py), then what its jinja2 texts say:
syntax, variables used but not declared or declared but not used, unsafe attribute access,
and whether its example renders."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from chatapp.core.templates.lines import KeyLines
from chatapp.core.templates.model import (
    NAME_PATTERN,
    NAME_RULE,
    CheckResult,
    Problem,
    Template,
    TemplateError,
)
from chatapp.core.templates.parse import parse_template

if TYPE_CHECKING:
    from jinja2 import nodes


def check_file(
    path: Path, *, name: str | None = None, builtin: bool = False, render_example: bool = True
) -> CheckResult:
    """Read and check a template file (named after its stem unless name is given).
    Rendering the example is most of a check's time: loading leaves it to `check`."""
    if name is None and not NAME_PATTERN.fullmatch(path.stem):
        message = f"'{path.stem}' cannot be a template name: " + NAME_RULE
        return CheckResult(path, None, [Problem(path, 1, message)])
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return CheckResult(path, None, [Problem(path, 1, "not UTF-8 text")])
    except OSError as error:
        return CheckResult(path, None, [Problem(path, 1, f"cannot read: {error.strerror}")])
    return check_text(
        text, name=name or path.stem, path=path, builtin=builtin, render_example=render_example
    )


def check_text(
    text: str, *, name: str, path: Path, builtin: bool = False, render_example: bool = True
) -> CheckResult:
    template, problems = parse_template(text, name=name, path=path, builtin=builtin)
    if template is None:
        return CheckResult(path, None, problems)
    problems = jinja_problems(template, text, path, render_example=render_example)
    return CheckResult(path, None if problems else template, problems)


def jinja_problems(
    template: Template, text: str, path: Path, *, render_example: bool = True
) -> list[Problem]:
    """What is wrong in the template's jinja2 texts, each at its line of text; the example
    is rendered, or only its values checked."""
    from jinja2 import TemplateSyntaxError, meta

    from chatapp.core.templates.render import environment

    lines = KeyLines(text)
    problems: list[Problem] = []
    used: set[str] = set()
    parsed_all = True
    for part, source in (("system", template.system), ("user", template.user)):
        start = lines.value_start(part)
        try:
            tree = environment().parse(source)
        except TemplateSyntaxError as error:
            problems.append(Problem(path, start + error.lineno - 1, f"{part}: {error.message}"))
            parsed_all = False
            continue
        names = meta.find_undeclared_variables(tree) - environment().globals.keys()
        used |= names
        problems += _undeclared(template, path, part, start, names)
        problems += _unsafe(path, part, tree, start)
    if parsed_all:
        problems += _unused(template, path, lines, used)
    if not problems and template.example is not None:
        problems += _example(template, path, lines, render_example)
    return problems


def _undeclared(
    template: Template, path: Path, part: str, start: int, names: set[str]
) -> list[Problem]:
    source = template.system if part == "system" else template.user
    return [
        Problem(
            path,
            start + _line_in(source, name) - 1,
            f"variable '{name}' is used in {part} but not declared ([variables.{name}])",
        )
        for name in sorted(names - template.variables.keys())
    ]


def _unused(template: Template, path: Path, lines: KeyLines, used: set[str]) -> list[Problem]:
    return [
        Problem(
            path,
            lines.line("variables", name),
            f"variable '{name}' is declared but not used in system or user",
        )
        for name in template.variables
        if name not in used
    ]


def _unsafe(path: Path, part: str, tree: nodes.Template, start: int) -> list[Problem]:
    """Attributes and keys starting with _ lead out of the sandbox; say so at check time
    (rendering refuses them anyway)."""
    from jinja2 import nodes

    problems = []
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        if isinstance(node, nodes.Getattr):
            key = node.attr
        elif (
            isinstance(node, nodes.Getitem)
            and isinstance(node.arg, nodes.Const)
            and isinstance(node.arg.value, str)
        ):
            key = node.arg.value
        else:
            continue
        if key.startswith("_"):
            problems.append(
                Problem(path, start + node.lineno - 1, f"{part}: unsafe access to '{key}'")
            )
    return problems


def _example(template: Template, path: Path, lines: KeyLines, render: bool) -> list[Problem]:
    from chatapp.core.templates.render import Renderer, fill

    assert template.example is not None
    try:
        if render:
            Renderer().render(template, template.example.variables)
        else:
            fill(template, template.example.variables)
    except TemplateError as error:
        return [Problem(path, lines.line("example"), f"the example does not render: {error}")]
    return []


def _line_in(source: str, name: str) -> int:
    """The first line of source (1-based) that names the variable."""
    pattern = re.compile(rf"\b{re.escape(name)}\b")
    for number, line in enumerate(source.splitlines(), 1):
        if pattern.search(line):
            return number
    return 1
