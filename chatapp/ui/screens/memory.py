"""The user's memories on one page: search as you type, add, edit, pin, delete, delete all,
undo the last change, and memory on or off for this user.

The memory itself is the Workspace's (core/memory): this screen lists it and calls it, in
threads, since every call reads or writes the user's memory file."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import ClassVar

from textual import events, on, work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import Worker

from chatapp.core.events import MemoryChanged
from chatapp.core.memory.book import MemoryChange
from chatapp.core.memory.user_memory import summary_of
from chatapp.core.models import Memory
from chatapp.core.workspace import Workspace
from chatapp.ui.messages import CoreEvent
from chatapp.ui.screens.confirm import ConfirmScreen
from chatapp.ui.screens.keys import KeySection
from chatapp.ui.screens.text_prompt import TextPromptScreen
from chatapp.ui.worker_failures import toast_failure

# Another chatapp process (the CLI, a second terminal) may change the file: look this often.
OUTSIDE_CHECK_SECONDS = 2.0
UNDO_HINT = "ctrl+z undoes it"
HINT = "Enter edit · p pin · d delete · D delete all · a add · ctrl+z undo · Esc back"
EMPTY = (
    "No memories yet.\n\n"
    "Memories are facts you chose to keep. They get here when you:\n"
    "  · type /remember <a fact> in the chat,\n"
    "  · accept a suggestion shown under one of your messages (a),\n"
    '  · run  chatapp memory add "..."  in a shell,\n'
    "  · or press a here."
)


@dataclass(frozen=True, slots=True)
class Listing:
    """What one read of the memory file gave: the memories to show and the header's facts."""

    version: tuple[int, int] | None
    search: str
    total: int
    shown: list[Memory]
    enabled: bool


class MemoryScreen(Screen[None]):
    """Every memory of the workspace's user; keys act on the highlighted one."""

    CSS_PATH = "memory.tcss"
    # Not the search box: letters there are searched for, and would not reach the keys.
    AUTO_FOCUS = "#memories"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Back", tooltip="Back to where you were"),
        Binding("ctrl+f", "search", "Search", tooltip="Search the memories as you type"),
        Binding("a", "add", "Add", tooltip="Remember a new fact"),
        Binding("e", "edit", "Edit", tooltip="Edit the highlighted memory (Enter too)"),
        Binding("p", "pin", "Pin", tooltip="Pin or unpin it: pinned ones go into every reply"),
        Binding("delete,d", "delete", "Delete", tooltip="Forget the highlighted memory"),
        Binding("D", "delete_all", "Delete all", tooltip="Forget every memory (asks first)"),
        Binding("ctrl+z", "undo", "Undo", tooltip="Undo the last change to memory"),
        Binding("o", "toggle_memory", "On/off", tooltip="Turn memory on or off for this user"),
        # From the search box down into the list (the list's own ↓ wins when it has focus).
        Binding("down", "to_list", show=False),
    ]

    def __init__(self, workspace: Workspace) -> None:
        super().__init__()
        self.workspace = workspace
        self.listing = Listing(None, "", 0, [], True)

    def compose(self) -> ComposeResult:
        yield Static("", id="summary")
        yield Static(HINT, id="hint", markup=False)
        yield Input(placeholder="Search as you type (ctrl+f)", id="search")
        yield OptionList(id="memories")
        yield Static(EMPTY, id="empty", markup=False)

    @property
    def memory_list(self) -> OptionList:
        return self.query_one("#memories", OptionList)

    @property
    def search(self) -> Input:
        return self.query_one("#search", Input)

    @on(events.DescendantFocus, "#search")
    def nothing_to_search(self) -> None:
        # With no memories the list is hidden and Textual moves the focus to the search
        # box, where the screen's keys ("a" to add) would be typed as a search instead.
        if not self.listing.total:
            self.set_focus(None)

    def on_mount(self) -> None:
        self.memory_list.focus()
        self.refresh_list()
        self.set_interval(OUTSIDE_CHECK_SECONDS, self.look_for_outside_changes)

    # -- reading --------------------------------------------------------------------------

    @work(exclusive=True, group="memory-list", exit_on_error=False)
    async def refresh_list(self) -> None:
        self.show(await asyncio.to_thread(self.read, self.search.value))

    def read(self, search: str) -> Listing:
        """In a thread: the file's version first, so a change during the read is seen next."""
        memory = self.workspace.memory
        version = memory.book.version()
        everything = memory.book.list()
        shown = memory.book.list(search) if search.strip() else everything
        # Pinned first (they go into every reply), then the newest.
        shown = sorted(shown, key=lambda m: (not m.pinned, -m.updated))
        return Listing(version, search.strip(), len(everything), shown, memory.enabled)

    @work(exclusive=True, group="memory-look", exit_on_error=False)
    async def look_for_outside_changes(self) -> None:
        version = await asyncio.to_thread(self.workspace.memory.book.version)
        if version != self.listing.version:
            self.refresh_list()

    @on(CoreEvent)
    def core_event(self, message: CoreEvent) -> None:
        if isinstance(message.event, MemoryChanged):
            self.refresh_list()

    @on(Input.Changed, "#search")
    def search_changed(self) -> None:
        self.refresh_list()

    @on(Input.Submitted, "#search")
    def search_done(self) -> None:
        self.action_to_list()

    def action_to_list(self) -> None:
        if self.listing.shown:
            self.memory_list.focus()

    # -- showing --------------------------------------------------------------------------

    def show(self, listing: Listing) -> None:
        memory_list = self.memory_list
        kept, index = self.selected, memory_list.highlighted or 0
        self.listing = listing
        memory_list.set_options(Option(row(memory), id=memory.id) for memory in listing.shown)
        ids = [memory.id for memory in listing.shown]
        if kept is not None and kept.id in ids:
            memory_list.highlighted = ids.index(kept.id)
        elif ids:
            # The highlighted one is gone (deleted): its neighbour takes its place.
            memory_list.highlighted = min(index, len(ids) - 1)
        self.query_one("#summary", Static).update(summary(listing, self.workspace.user))
        self.set_class(not listing.shown, "-empty")
        self.set_class(not listing.enabled, "-off")
        self.query_one("#empty", Static).update(
            f"No memory contains “{listing.search}”." if listing.total else EMPTY
        )
        if listing.shown and self.focused is None:
            memory_list.focus()
        elif not listing.shown and self.focused is memory_list:
            # Keys still work on the screen; a hidden list cannot hold the focus.
            self.set_focus(None)
        if not listing.total and self.focused is self.search:
            # Nothing to search: the focus Textual moved off the hidden list would make
            # the screen's keys ("a" to add) type into the search box.
            self.set_focus(None)

    @property
    def selected(self) -> Memory | None:
        index = self.memory_list.highlighted
        if index is None or not self.listing.shown or index >= len(self.listing.shown):
            return None
        return self.listing.shown[index]

    # -- changing -------------------------------------------------------------------------

    @on(OptionList.OptionSelected, "#memories")
    def option_selected(self) -> None:
        self.action_edit()

    def action_edit(self) -> None:
        if (memory := self.selected) is None:
            self.app.bell()
        else:
            self.edit(memory)

    @work(group="memory-change", exit_on_error=False)
    async def edit(self, memory: Memory) -> None:
        text = await self.app.push_screen_wait(TextPromptScreen("Edit memory", memory.text))
        if text is None or text == memory.text:
            return
        change = await asyncio.to_thread(self.workspace.memory.edit, memory.id, text)
        self.tell(change_notice(change))

    @work(group="memory-change", exit_on_error=False)
    async def action_add(self) -> None:
        text = await self.app.push_screen_wait(
            TextPromptScreen("Remember", placeholder="One short fact, e.g. I am vegetarian")
        )
        if text is None:
            return
        change = await asyncio.to_thread(self.workspace.memory.remember, text)
        self.tell(change_notice(change))

    @work(group="memory-change", exit_on_error=False)
    async def action_pin(self) -> None:
        if (memory := self.selected) is None:
            self.app.bell()
            return
        pinned = not memory.pinned
        await asyncio.to_thread(self.workspace.memory.pin, memory.id, pinned)
        self.tell(f"{'pinned' if pinned else 'unpinned'}: {memory.text} · {UNDO_HINT}")

    @work(group="memory-change", exit_on_error=False)
    async def action_delete(self) -> None:
        if (memory := self.selected) is None:
            self.app.bell()
            return
        if await asyncio.to_thread(self.workspace.memory.forget, [memory.id]):
            self.tell(f"forgot: {memory.text} · ctrl+z brings it back")

    @work(group="memory-change", exit_on_error=False)
    async def action_delete_all(self) -> None:
        total = self.listing.total
        if not total:
            self.tell("No memories to delete")
            return
        noun = "the only memory" if total == 1 else f"all {total} memories"
        question = f"Forget {noun} of {self.workspace.user}? ctrl+z undoes it."
        if not await self.app.push_screen_wait(ConfirmScreen(question)):
            return
        gone = await asyncio.to_thread(self.workspace.memory.clear)
        self.tell(f"forgot all {len(gone)} memories · ctrl+z brings them back")

    @work(group="memory-change", exit_on_error=False)
    async def action_undo(self) -> None:
        self.tell(await asyncio.to_thread(self.workspace.memory.undo_last))

    @work(group="memory-change", exit_on_error=False)
    async def action_toggle_memory(self) -> None:
        turn_on = not await asyncio.to_thread(lambda: self.workspace.memory.enabled)
        await asyncio.to_thread(self.workspace.set_memory_enabled, turn_on)
        self.refresh_list()
        user = self.workspace.user
        if turn_on:
            self.tell(f"Memory is on for {user}: replies use the memories again")
        else:
            self.tell(f"Memory is off for {user}: nothing is recalled or suggested")

    def action_search(self) -> None:
        self.search.focus()

    def action_close(self) -> None:
        self.dismiss()

    def tell(self, notice: str) -> None:
        self.notify(notice, markup=False)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place a failed read or change is told: a ChatappError is a toast and
        the screen goes on; anything else is a bug and is raised."""
        toast_failure(self, event)

    # -- what the app asks of a screen: its palette commands and its keys ------------------

    def commands(self) -> Iterable[SystemCommand]:
        yield SystemCommand("Add a memory", "Remember a new fact (a)", self.action_add)
        yield SystemCommand("Edit memory", "Edit the highlighted memory (e)", self.action_edit)
        yield SystemCommand(
            "Pin or unpin memory", "Pinned go into every reply (p)", self.action_pin
        )
        yield SystemCommand(
            "Delete memory", "Forget the highlighted memory (d)", self.action_delete
        )
        yield SystemCommand(
            "Delete all memories", "Forget every memory, after asking (D)", self.action_delete_all
        )
        yield SystemCommand("Undo memory change", "Undo the last change (ctrl+z)", self.action_undo)
        yield SystemCommand("Turn memory on or off", "For this user (o)", self.action_toggle_memory)
        yield SystemCommand("Search memories", "Search as you type (ctrl+f)", self.action_search)
        yield SystemCommand("Close memories", "Back to where you were (esc)", self.action_close)

    def key_sections(self) -> list[KeySection]:
        return [
            ("In the search box", [("↓ Enter", "To the list"), ("Esc", "Back")]),
            ("In the list", [("↑ ↓", "Highlight a memory"), ("Enter", "Edit it")]),
        ]


def row(memory: Memory) -> Content:
    """One memory in the list: pin mark, date of its last change, slot, text."""
    return Content.assemble(
        "📌 " if memory.pinned else "   ",
        (date.fromtimestamp(memory.updated).isoformat(), "dim"),
        "  ",
        (f"[{memory.slot}] ", "italic") if memory.slot else "",
        memory.text,
    )


def summary(listing: Listing, user: str) -> Content:
    """The header: how many memories (and how many match), and memory on or off."""
    total = f"{listing.total} {'memory' if listing.total == 1 else 'memories'}"
    count = f"{len(listing.shown)} of {total} match" if listing.search else total
    if listing.enabled:
        state = Content.assemble(("on", "bold $success"), f" for {user} · o turns it off")
    else:
        state = Content.assemble(
            ("off", "bold $warning"), f" for {user}: nothing recalled · o turns it on"
        )
    return Content.assemble(("Memory", "bold"), f" · {count} · memory is ", state)


def change_notice(change: MemoryChange) -> str:
    """What an add or edit did ("memory updated: … (was: …)"), and how to undo it."""
    if change.kind == "duplicate":
        return summary_of(change)
    return f"{summary_of(change)} · {UNDO_HINT}"
