"""d. enter: Enter → request at the server, Enter → llama.cpp generating (<= 20 ms).

Enter → the request reaching a loopback server (remote), and Enter → llama.cpp starting
to generate with the model loaded (local), in a new conversation and in a stored one of
200 messages (English and Chinese, more than the context holds, so old turns are left
out and the prompt is counted several times a send); medians.

ChatApp runs headless in this process (Pilot), a process as fresh as a launched `chatapp`;
the scripted server runs in a child process. The first send after launch also creates
the backend: it is reported on its own, beside the median of the sends after it. In the
stored conversation the model is loaded before it opens, and the first send after opening
it is a figure of its own: it is the one that would count the whole conversation.

    python bench/ui_enter.py [--reps 6]
"""

from __future__ import annotations

import asyncio
import statistics
import time
from pathlib import Path
from typing import Any

from ui_common import (
    SIZE,
    Figure,
    arguments,
    chat_screen,
    local_llama,
    local_model,
    ms,
    new_app,
    remote_model,
    run_bench,
    scripted_reply,
    send,
    settings_for,
    settle,
    type_text,
    wait_for_reply,
    wait_until_model_ready,
)

from tests.fixtures.scripted import ChildScripts, serve_in_child

TARGET_ENTER_MS = 20.0
SHORT_REPLY = ["Bench", " reply"]
LONG_CONVERSATION = 200


async def enter_to_request(server: ChildScripts, data_dir: Path, sends: int) -> list[float]:
    short = remote_model(server.base_url("short"), "short", 64)
    app = new_app(settings_for(data_dir, short=short))
    delays: list[float] = []
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(sends):
            await type_text(pilot, "hello")
            pressed = time.perf_counter()
            await send(pilot)
            await wait_for_reply(app, pilot)
            await settle(app, pilot)
            arrived = min(when for when, _ in server.arrivals("short") if when > pressed)
            delays.append(arrived - pressed)
    return delays


def long_conversation(settings: Any, messages: int) -> str:
    """A stored conversation of `messages` messages, questions and replies in turn."""
    from chatapp.core.workspace import Workspace
    from tests.fixtures.conversations import store_long_conversation

    workspace = Workspace(settings)
    return store_long_conversation(
        workspace, messages, reply_length=12, title="A long conversation"
    )


async def enter_to_generation(data_dir: Path, sends: int, history: int = 0) -> list[float]:
    settings = settings_for(data_dir, smollm2=local_model(8))
    stored = long_conversation(settings, history) if history else None
    app = new_app(settings)
    delays: list[float] = []
    async with app.run_test(size=SIZE) as pilot:
        await wait_until_model_ready(app, pilot)
        if stored is not None:
            await chat_screen(app).open_conversation(stored).wait()
            await settle(app, pilot)
        llama_class = type(local_llama(app))
        starts: list[float] = []
        create = llama_class.create_chat_completion

        def observed(*args: Any, **kwargs: Any) -> Any:
            starts.append(time.perf_counter())
            return create(*args, **kwargs)

        # An observer on the library call, not a stand-in: generation runs as it would.
        # On the class: a conversation that outgrows the loaded window gets a new Llama.
        llama_class.create_chat_completion = observed
        for _ in range(sends):
            await type_text(pilot, "hello")
            pressed = time.perf_counter()
            await send(pilot)
            await wait_for_reply(app, pilot)
            await settle(app, pilot)
            delays.append(min(when for when in starts if when > pressed) - pressed)
    llama_class.create_chat_completion = create
    return delays


async def figures_enter(work: Path, reps: int) -> list[Figure]:
    with serve_in_child({"short": scripted_reply(SHORT_REPLY)}) as server:
        remote = await enter_to_request(server, work / "enter-remote", reps + 1)
    local = await enter_to_generation(work / "enter-local", reps + 1)
    long = await enter_to_generation(work / "enter-long", reps + 1, LONG_CONVERSATION)
    figures = []
    for key, label, runs in (
        ("enter_to_request_ms", "d. Enter → request at the server (remote)", remote),
        ("enter_to_generation_ms", "d. Enter → llama.cpp generating (local)", local),
        (
            "enter_to_generation_200_ms",
            f"d. Enter → llama.cpp generating, {LONG_CONVERSATION}-message conversation",
            long,
        ),
    ):
        median = ms(statistics.median(runs[1:]))
        figures.append(
            Figure(
                key,
                label + ", median",
                median,
                TARGET_ENTER_MS,
                higher_is_better=False,
                unit=" ms",
                baseline={f"{key}_first": ms(runs[0])},
                detail=f"first after launch {ms(runs[0])} ms; then {[ms(r) for r in runs[1:]]}",
            )
        )
    figures.append(
        Figure(
            "enter_to_generation_200_first_ms",
            "d. Enter → llama.cpp generating, first after opening a stored "
            f"{LONG_CONVERSATION}-message conversation",
            ms(long[0]),
            TARGET_ENTER_MS,
            higher_is_better=False,
            unit=" ms",
        )
    )
    return figures


def main() -> None:
    args = arguments(__doc__, reps=6).parse_args()
    run_bench("ui_enter", lambda work: asyncio.run(figures_enter(work, args.reps)))


if __name__ == "__main__":
    main()
