"""The commands over what is stored and configured: models, history, show, rm, config."""

from __future__ import annotations

import asyncio
import sys
from typing import Annotated

import typer

from chatapp.cli.app import (
    RawOption,
    UserOption,
    app,
    config_app,
    settings_or_exit,
    workspace_for,
)


@app.command()
def models(user: UserOption = None) -> None:
    """List configured models and whether each one can be reached now."""
    from chatapp.terminal_text import strip_controls

    settings = settings_or_exit(user)
    results = asyncio.run(workspace_for(settings).check_models())

    for name, model in settings.models.items():
        mark = "*" if name == settings.default_model else " "
        # A server's error text is in the status: it must not drive the terminal.
        typer.echo(f"{mark} {name:<16} {model.backend:<7} {strip_controls(results[name])}")
    typer.echo(
        "\nThe embedded SmolLM2-135M is tiny. For better answers add a [models.NAME] table to "
        f'{settings.config_path} with backend = "llama" and path = a bigger GGUF, or '
        'backend = "openai"/"ollama" with base_url = your server.'
    )


@app.command()
def history(
    search: Annotated[
        str | None,
        typer.Option(
            "--search",
            "-s",
            help="Only conversations containing this text; template:NAME, those made with it.",
        ),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="How many to show.")] = 50,
    user: UserOption = None,
) -> None:
    """List stored conversations, newest first."""
    import datetime

    from chatapp.terminal_text import strip_controls

    workspace = workspace_for(settings_or_exit(user))
    for summary in workspace.list_conversations(search)[:limit]:
        when = datetime.datetime.fromtimestamp(summary.updated).strftime("%Y-%m-%d %H:%M")
        title = strip_controls(summary.title)
        typer.echo(f"{summary.id}  {when}  {summary.message_count:>4} msgs  {title}")


@app.command()
def show(
    conversation_id: Annotated[str, typer.Argument(help="Conversation id.")],
    raw: RawOption = False,
    user: UserOption = None,
) -> None:
    """Print one conversation (its visible branch) as Markdown."""
    from chatapp.terminal_text import strip_controls

    text = workspace_for(settings_or_exit(user)).markdown(conversation_id)
    # Not typer.echo: off a terminal it strips some escapes itself, and --raw means raw.
    sys.stdout.write(text if raw else strip_controls(text))


@app.command()
def rm(
    conversation_id: Annotated[str, typer.Argument(help="Conversation id.")],
    user: UserOption = None,
) -> None:
    """Delete a conversation (it stays in the trash for 30 days)."""
    workspace_for(settings_or_exit(user)).delete(conversation_id)
    typer.echo(f"deleted {conversation_id}")


@app.command()
def users() -> None:
    """List the users with data here, and what each has stored."""
    from chatapp.core.workspace import list_users

    settings = settings_or_exit()
    found = list_users(settings)
    for summary in found:
        mark = "*" if summary.name == settings.user else " "
        typer.echo(
            f"{mark} {summary.name:<24} {plural(summary.conversations, 'conversation')}, "
            f"{plural(summary.memories, 'memory', 'memories')}"
        )
    if not found:
        typer.echo(f"no user has data in {settings.data_dir} yet")


def plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count:>5} {one if count == 1 else (many or one + 's')}"


# -- config -------------------------------------------------------------------------------


@config_app.command("path")
def config_path() -> None:
    """Print the config file's path (it need not exist)."""
    from chatapp.config import default_config_path

    typer.echo(str(default_config_path()))


@config_app.command("show")
def config_show(user: UserOption = None) -> None:
    """Print the settings in effect, secrets redacted."""
    import orjson

    from chatapp.config import redacted

    settings = settings_or_exit(user)
    typer.echo(orjson.dumps(redacted(settings), option=orjson.OPT_INDENT_2).decode())
