"""`chatapp compare`: one input through 2 to 4 variants, printed blind one after another,
then the user's choice (asked on the terminal) stored as a pairwise preference."""

from __future__ import annotations

import asyncio
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from chatapp.cli.app import (
    EXIT_USAGE,
    UserOption,
    app,
    fail,
    open_terminal,
    settings_or_exit,
    workspace_for,
)
from chatapp.cli.turns import (
    MaxTokensOption,
    QuestionArgument,
    VarOption,
    join_input,
    parse_vars,
    read_input,
)

if TYPE_CHECKING:
    from chatapp.core.practice import PracticeRun, Variant
    from chatapp.core.workspace import Workspace

# What the choice prompt accepts besides a column letter; ASK: ask for it.
TIE, ALL_BAD, SKIP, ASK = "t", "x", "", "?"


@app.command()
def compare(
    question: QuestionArgument = None,
    templates: Annotated[
        list[str] | None,
        typer.Option("--template", "-t", help="A template to compare (repeatable)."),
    ] = None,
    models: Annotated[
        list[str] | None,
        typer.Option("--model", "-m", help="A model to compare (repeatable)."),
    ] = None,
    variables: VarOption = None,
    max_tokens: MaxTokensOption = None,
    repeats: Annotated[
        int, typer.Option("--repeat", min=1, max=5, help="Samples of each variant.")
    ] = 1,
    no_choice: Annotated[
        bool, typer.Option("--no-choice", help="Print the replies; record no choice.")
    ] = False,
    choice: Annotated[
        str | None,
        typer.Option("--choice", help="The choice, without asking: a letter, t (tie), x."),
    ] = None,
    user: UserOption = None,
) -> None:
    """Run one input through every template × model given (2 to 4 variants), blind:
    replies come as A, B, ... and what each was is shown after you choose."""
    settings = settings_or_exit(user)
    values = parse_vars(variables or [])
    asked, piped = read_input(question, required=not templates)
    text = join_input(asked, piped)
    workspace = workspace_for(settings, saving=not no_choice)
    variants = [
        workspace.variant(
            text, template=template, model=model, values=values, max_tokens=max_tokens
        )
        for template in templates or [None]
        for model in models or [None]
    ]
    if not 2 <= len(variants) <= 4:
        raise fail(
            f"compare needs 2 to 4 variants: {len(variants)} from "
            f"{len(templates or [None])} template(s) × {len(models or [None])} model(s)",
            EXIT_USAGE,
        )
    if choice is not None and choice.strip().lower() not in ("a", "b", "c", "d", TIE, ALL_BAD):
        raise fail(
            f"--choice takes a column letter, {TIE} or {ALL_BAD}, not {choice!r}", EXIT_USAGE
        )
    if no_choice:
        answer = None
    elif choice is not None:
        answer = choice.strip()
    else:
        answer = ASK
    asyncio.run(_compare(workspace, variants, text, repeats, answer))


async def _compare(
    workspace: Workspace,
    variants: list[Variant],
    text: str,
    repeats: int,
    answer: str | None,
) -> None:
    """Print each sample as it streams, then take the answer (None: record nothing;
    ASK: ask on the terminal) and store the choice."""
    from chatapp.terminal_text import TerminalFilter

    try:
        run = await workspace.practice(variants, repeats=repeats)
        for column in run.columns:
            for number, sample in enumerate(column.samples, 1):
                shown = f" (sample {number} of {repeats})" if repeats > 1 else ""
                sys.stdout.write(f"── {column.letter}{shown} ──\n")
                screen = TerminalFilter()
                async for piece in sample:
                    sys.stdout.write(screen.feed(piece))
                    sys.stdout.flush()
                sys.stdout.write(screen.flush() + "\n\n")
        if answer is not None:
            choose(run, ask_terminal(run) if answer == ASK else answer)
            if run.choice is not None:
                await asyncio.to_thread(workspace.record_practice_choice, run)
        for column in run.columns:
            sys.stdout.write(f"{column.letter}: {column.variant.label}\n")
    finally:
        await workspace.aclose(title_wait=0)


def ask_terminal(run: PracticeRun) -> str:
    """The user's answer, read from the terminal even when the input was piped; SKIP
    when there is no terminal to ask on."""
    letters = "/".join(run.letters)
    question = f"Which is best? {letters}, {TIE} tie, {ALL_BAD} all bad, Enter to skip: "
    terminal = open_terminal()
    if terminal is None:
        sys.stderr.write("chatapp: no terminal to ask which is best; no choice recorded\n")
        return SKIP
    with terminal:
        while True:
            sys.stderr.write(question)
            sys.stderr.flush()
            answer = terminal.readline().strip().upper()
            if answer in (*run.letters, TIE.upper(), ALL_BAD.upper(), SKIP):
                return answer.lower() if answer in (TIE.upper(), ALL_BAD.upper()) else answer


def choose(run: PracticeRun, answer: str) -> None:
    answer = answer.lower() if answer.lower() in (TIE, ALL_BAD) else answer.upper()
    if answer == TIE:
        run.choose("tie")
    elif answer == ALL_BAD:
        run.choose("both_bad")
    elif answer != SKIP:
        run.choose("preferred", answer)
