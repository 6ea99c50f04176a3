"""`chatapp memory ...`: the user's memories from the shell, the same book the TUI shows."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from chatapp.cli.app import UserOption, app, settings_or_exit, warn, workspace_for

if TYPE_CHECKING:
    from chatapp.core.memory.user_memory import UserMemory
    from chatapp.core.models import Memory

memory_app = typer.Typer(help="What chatapp remembers about you: list, add, edit, forget.")
app.add_typer(memory_app, name="memory")

MemoryId = Annotated[str, typer.Argument(help="Memory id (from `chatapp memory list`).")]


def memory_of(user: str | None) -> UserMemory:
    return workspace_for(settings_or_exit(user), saving=True).memory


def line(memory: Memory) -> str:
    from datetime import date

    from chatapp.terminal_text import strip_controls

    when = date.fromtimestamp(memory.updated).isoformat()
    marks = ("📌 " if memory.pinned else "") + (f"[{memory.slot}] " if memory.slot else "")
    return f"{memory.id}  {when}  {marks}{strip_controls(memory.text)}"


@memory_app.command("list")
def list_(
    search: Annotated[str | None, typer.Argument(help="Only memories containing this.")] = None,
    user: UserOption = None,
) -> None:
    """Every memory, oldest first (or those containing SEARCH)."""
    memory = memory_of(user)
    found = memory.book.list(search)
    for item in found:
        typer.echo(line(item))
    if not memory.enabled:
        warn("memory is off for this user: nothing is recalled (`chatapp memory on`)")


@memory_app.command()
def add(
    text: Annotated[str, typer.Argument(help="One short fact, e.g. 'I am vegetarian'.")],
    user: UserOption = None,
) -> None:
    """Remember a fact (a new value for a known kind, like a name, replaces the old)."""
    from chatapp.core.memory.user_memory import summary_of

    typer.echo(summary_of(memory_of(user).remember(text)))


@memory_app.command()
def edit(memory_id: MemoryId, text: str, user: UserOption = None) -> None:
    """Change a memory's text (the old one is kept for undo)."""
    from chatapp.core.memory.user_memory import summary_of

    typer.echo(summary_of(memory_of(user).edit(memory_id, text)))


@memory_app.command()
def rm(memory_ids: Annotated[list[str], typer.Argument()], user: UserOption = None) -> None:
    """Forget memories by id."""
    gone = memory_of(user).forget(memory_ids)
    typer.echo(f"forgot {len(gone)} of {len(memory_ids)}")


@memory_app.command()
def pin(
    memory_id: MemoryId,
    off: Annotated[bool, typer.Option("--off", help="Unpin it.")] = False,
    user: UserOption = None,
) -> None:
    """Pin a memory: it goes into every prompt, not only when it seems relevant."""
    memory = memory_of(user).pin(memory_id, not off)
    typer.echo(line(memory))


@memory_app.command()
def clear(
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask.")] = False,
    user: UserOption = None,
) -> None:
    """Forget every memory of this user."""
    memory = memory_of(user)
    count = len(memory.book.list())
    if not yes and not typer.confirm(f"Forget all {count} memories?", default=False):
        raise typer.Exit(1)
    typer.echo(f"forgot {len(memory.clear())} memories")


@memory_app.command()
def undo(memory_id: MemoryId, user: UserOption = None) -> None:
    """Bring back a memory's previous version (one with none is removed)."""
    restored = memory_of(user).book.undo(memory_id)
    typer.echo(line(restored) if restored is not None else f"removed {memory_id}")


@memory_app.command("export")
def export(
    output: Annotated[Path | None, typer.Option("-o", help="File (default: stdout).")] = None,
    user: UserOption = None,
) -> None:
    """Every memory as JSON (`chatapp memory import` reads it back exactly)."""
    data = memory_of(user).book.export()
    if output is None:
        sys.stdout.buffer.write(data)
    else:
        output.write_bytes(data)


@memory_app.command("import")
def import_(
    source: Annotated[Path, typer.Argument(help="A file from `chatapp memory export`.")],
    user: UserOption = None,
) -> None:
    """Add memories from an export (same ids are replaced, known facts skipped)."""
    try:
        data = source.read_bytes()
    except OSError as error:
        from chatapp.core.errors import ConfigError

        raise ConfigError(f"{source}: cannot read: {error.strerror or error}") from None
    typer.echo(f"imported {memory_of(user).book.import_(data)} memories")


@memory_app.command()
def on(user: UserOption = None) -> None:
    """Turn memory on for this user: recalled into prompts, suggestions made."""
    workspace_for(settings_or_exit(user), saving=True).set_memory_enabled(True)
    typer.echo("memory is on")


@memory_app.command()
def off(user: UserOption = None) -> None:
    """Turn memory off: nothing recalled, nothing suggested (memories are kept)."""
    workspace_for(settings_or_exit(user), saving=True).set_memory_enabled(False)
    typer.echo("memory is off")
