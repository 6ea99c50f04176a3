"""The message box's own state, without a screen: queued while the model loads, editing."""

from __future__ import annotations

from chatapp.core.models import Message, Role
from chatapp.ui.composer import EDITING, QUEUED, Composer


def question(text: str) -> Message:
    return Message(conversation_id="c1", role=Role.USER, content=text)


def test_a_queued_message_makes_the_box_read_only_until_it_is_taken() -> None:
    composer = Composer()
    assert composer.banner == "" and not composer.read_only
    composer.queue("Hello there")
    assert composer.read_only and composer.banner == QUEUED
    assert composer.take_queued() == "Hello there"
    assert composer.take_queued() is None
    assert not composer.read_only and composer.banner == ""


def test_an_edit_keeps_the_draft_from_before_it_and_gives_it_back() -> None:
    composer = Composer()
    first = question("Capital of France?")
    composer.begin_edit(first, "half-written draft")
    assert composer.editing is first and composer.banner == EDITING
    # Editing another message (or the same one again) keeps the draft from before the first.
    second = question("Capital of Italy?")
    composer.begin_edit(second, "Capital of France? edited")
    assert composer.editing is second
    assert composer.end_edit() == "half-written draft"
    assert composer.editing is None and composer.banner == ""
    assert composer.end_edit() is None  # not editing: nothing to give back


def test_the_queue_banner_wins_over_editing() -> None:
    composer = Composer()
    composer.begin_edit(question("q"), "")
    composer.queue("q2")
    assert composer.banner == QUEUED


def test_an_unsent_message_comes_back_before_what_was_typed_since() -> None:
    assert Composer.given_back("Keep this text", "and this") == "Keep this text\nand this"
    assert Composer.given_back("Keep this text", "  ") == "Keep this text"
