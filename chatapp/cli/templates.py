"""`chatapp templates ...`: the prompt templates from the shell, the same library the TUI
uses: list, show, render, check, new, import, history, diff."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from chatapp.cli.app import app, settings_or_exit, warn, workspace_for

if TYPE_CHECKING:
    from chatapp.core.feedback.signals import PracticeRecord
    from chatapp.core.templates import Template, TemplateLibrary

templates_app = typer.Typer(
    help="Prompt templates: list, show, fill in, check; make your own, import, versions."
)
app.add_typer(templates_app, name="templates")

TemplateName = Annotated[str, typer.Argument(help="Template name (from `chatapp templates list`).")]
JsonOutput = Annotated[bool, typer.Option("--json", help="Print JSON.")]
VersionNumber = Annotated[str, typer.Argument(help="A version: 2 or v2.")]


def library() -> TemplateLibrary:
    return workspace_for(settings_or_exit()).templates


def echo_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


@templates_app.command("list")
def list_(
    tag: Annotated[str | None, typer.Option("--tag", help="Only templates with this tag.")] = None,
    as_json: JsonOutput = False,
) -> None:
    """Every template: name, title, tags (yours override built-ins of the same name)."""
    templates = library()
    found = templates.templates(tag)
    if as_json:
        echo_json([summary(template) for template in found])
    else:
        width = max((len(template.name) for template in found), default=0)
        for template in found:
            tags = f"  [{', '.join(template.tags)}]" if template.tags else ""
            yours = "" if template.builtin else "  (yours)"
            typer.echo(f"{template.name:<{width}}  {template.title}{tags}{yours}")
    for line in templates.warnings:
        warn(line)


SUMMARY_KEYS = ("name", "title", "description", "tags", "main", "version")


def summary(template: Template) -> dict[str, Any]:
    """What `templates list --json` says of a template."""
    from chatapp.core.templates import to_data

    data = to_data(template)
    return {
        **{key: data[key] for key in SUMMARY_KEYS},
        "builtin": template.builtin,
        "path": str(template.path),
    }


@templates_app.command()
def show(name: TemplateName, as_json: JsonOutput = False) -> None:
    """A template's TOML file (or, with --json, what it holds)."""
    templates = library()
    if as_json:
        from chatapp.core.templates import to_data

        template = templates.get(name)
        echo_json({**to_data(template), "builtin": template.builtin, "path": str(template.path)})
    else:
        typer.echo(templates.source(name), nl=False)


@templates_app.command()
def render(
    name: TemplateName,
    text: Annotated[
        str | None, typer.Argument(help="The main input (default: stdin, when piped).")
    ] = None,
    var: Annotated[
        list[str] | None, typer.Option("--var", help="A variable's value: NAME=VALUE (repeat).")
    ] = None,
    as_json: JsonOutput = False,
) -> None:
    """Fill a template in and print its system and user texts."""
    from chatapp.core.templates import MissingVariables, TemplateError

    templates = library()
    template = templates.get(name)
    values: dict[str, str | int | float] = dict(variable_values(var or []))
    if text is None and template.main not in values and not sys.stdin.isatty():
        text = sys.stdin.read()  # never waits on a terminal: there, a missing input is an error
    if text is not None:
        values[template.main] = text
    try:
        rendered = templates.render(template, values)
    except MissingVariables as error:
        raise TemplateError(f"{error}: {how_to_give(error.names, template.main)}") from None
    if as_json:
        echo_json(
            {
                "system": rendered.system,
                "user": rendered.user,
                "variables": dict(rendered.variables),
            }
        )
        return
    if rendered.system:
        typer.echo(f"[system]\n{rendered.system}\n")
    typer.echo(f"[user]\n{rendered.user}")


def variable_values(items: list[str]) -> list[tuple[str, str]]:
    pairs = []
    for item in items:
        key, equals, value = item.partition("=")
        if not equals or not key.strip():
            raise typer.BadParameter(f"expected NAME=VALUE, got '{item}'", param_hint="--var")
        pairs.append((key.strip(), value))
    return pairs


def how_to_give(names: list[str], main: str) -> str:
    if names == [main]:
        return "give it as TEXT or on stdin"
    if len(names) == 1:
        return f"give it with --var {names[0]}=VALUE"
    if main in names:
        return f"give {main} as TEXT or on stdin, the others with --var NAME=VALUE"
    return "give each with --var NAME=VALUE"


@templates_app.command()
def check(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Template files or folders (default: all).")
    ] = None,
) -> None:
    """Check templates: each problem as path:line: problem, exit 1 if there are any."""
    results = library().check(paths or [])
    problems = [problem for result in results for problem in result.problems]
    for problem in problems:
        typer.echo(str(problem))
    if problems:
        raise typer.Exit(1)
    typer.echo(f"{len(results)} template{'' if len(results) == 1 else 's'} ok")


@templates_app.command()
def new(
    name: Annotated[str, typer.Argument(help="The new template's name.")],
    base: Annotated[
        str | None, typer.Option("--from", help="Start from a copy of this template.")
    ] = None,
) -> None:
    """Make a template of your own and open it in $VISUAL or $EDITOR."""
    import os

    templates = library()
    path = templates.create(name, base).path or templates.user_path(name)
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
    if not editor:
        typer.echo(f"created {path} (set $EDITOR to open it from here)")
        return
    open_in_editor(editor, path)
    for result in templates.check([path]):
        for problem in result.problems:
            warn(str(problem))
    typer.echo(f"created {path}")


def open_in_editor(editor: str, path: Path) -> None:
    import shlex
    import subprocess

    from chatapp.core.errors import ChatappError

    try:
        subprocess.run([*shlex.split(editor), str(path)], check=False)
    except (OSError, ValueError) as error:
        raise ChatappError(f"cannot start the editor ({editor}): {error}") from None


@templates_app.command("import")
def import_(
    folder: Annotated[Path, typer.Argument(help="A folder of pattern folders (system.md).")],
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace your templates of the same names.")
    ] = False,
) -> None:
    """Import fabric-style patterns: each folder with a system.md becomes a template."""
    report = library().import_patterns(folder, overwrite=overwrite)
    typer.echo(f"imported {len(report.imported)}, skipped {len(report.skipped)}")
    for name, reason in report.skipped:
        typer.echo(f"{name}: {reason}")


@templates_app.command()
def history(name: TemplateName) -> None:
    """The saved versions of one of your templates, oldest first, each with its
    practice record (compare choices won, lost, tied)."""
    workspace = workspace_for(settings_or_exit())
    templates = workspace.templates
    found = templates.history(name)
    log = workspace.feedback.log
    if not found:
        templates.get(name)  # an unknown name is an error, not an empty history
        warn(f"template '{name}' is built in: it has no saved versions")
        typer.echo(f"built-in  {record_text(log.record_for(name, None))}")
    for version in found:
        current = "  (current)" if version.path == templates.user_path(name) else ""
        record = record_text(log.record_for(name, version.number))
        typer.echo(f"v{version.number}  {version.saved:%Y-%m-%d %H:%M}  {record}{current}")


def record_text(record: PracticeRecord) -> str:
    if not record.played:
        return "not compared yet"
    text = f"{record.wins} won, {record.losses} lost, {record.ties} tied"
    return text + (f", {record.both_bad} all bad" if record.both_bad else "")


@templates_app.command()
def diff(name: TemplateName, old: VersionNumber, new: VersionNumber) -> None:
    """What changed between two versions of a template (a unified diff)."""
    typer.echo(library().diff(name, version_number(old), version_number(new)), nl=False)


def version_number(text: str) -> int:
    digits = text.removeprefix("v").removeprefix("V")
    if not digits.isdigit():
        raise typer.BadParameter(f"expected a version like 2 or v2, got '{text}'")
    return int(digits)
