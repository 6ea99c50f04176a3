"""A 2 MB paste into the message box: it stays whole, every key typed after it shows, the
send is refused with one clear line, and the box wraps it exactly as Textual would."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from textual import events
from textual.widgets.text_area import Document, WrappedDocument

from chatapp.core.workspace import Workspace
from chatapp.ui.widgets.prompt_input import LongLineWrap, PromptInput

TWO_MB = 2_000_000
LAST_WORDS = "and that is all."


def two_megabyte_paste(shape: str) -> str:
    """2 MB as a log file pastes (short lines) or as minified JSON does (one line)."""
    if shape == "lines":
        line = "2024-05-01T12:00:00 INFO request served in 12 ms, cache hit, user agent curl\n"
        body = line * (TWO_MB // len(line))
    else:
        body = "the quick brown fox jumps over the lazy dog, " * (TWO_MB // 45)
    return body + LAST_WORDS


def wraps_as_textual_does(box: PromptInput) -> bool:
    """The box's own wrapping of its text, row for row the same as Textual's."""
    ours = box.wrapped_document
    theirs = WrappedDocument(Document(box.text), box.wrap_width, box.indent_width)
    rows = range(box.document.line_count)
    return ours.height == theirs.height and all(
        ours.get_offsets(row) == theirs.get_offsets(row) for row in rows
    )


@pytest.mark.parametrize("shape", ["lines", "one line"])
async def test_keys_typed_after_a_huge_paste_show_and_nothing_is_lost(
    open_chat, make_settings, scripted_server, shape
):
    paste = two_megabyte_paste(shape)
    settings = make_settings(scripted_server.config())
    async with open_chat(settings) as chat:
        box = chat.screen.query_one(PromptInput)
        chat.app.post_message(events.Paste(paste))
        await chat.wait_until(lambda: len(chat.draft) == len(paste), "the paste")

        await chat.type(" ok")
        await chat.wait_until(lambda: chat.text_of(box).endswith(f"{LAST_WORDS} ok"), "the keys")
        assert chat.draft == f"{paste} ok"
        assert wraps_as_textual_does(box)

        await chat.press("enter")
        await chat.wait_for_text("the prompt is too long")
        assert chat.draft == f"{paste} ok"

        await chat.press("backspace", "backspace", "backspace")
        await chat.type("!")
        await chat.wait_until(lambda: chat.text_of(box).endswith(f"{LAST_WORDS}!"), "the edit")
        assert chat.draft == f"{paste}!"
        assert chat.app.is_running
        assert chat.views() == []
    assert Workspace(settings).load_ui_state()["draft"] == f"{paste}!"


async def test_undo_in_a_huge_line_gives_back_the_text_and_its_wrapping(
    open_chat, make_settings, scripted_server
):
    paste = two_megabyte_paste("one line")
    async with open_chat(make_settings(scripted_server.config())) as chat:
        box = chat.screen.query_one(PromptInput)
        chat.app.post_message(events.Paste(paste))
        await chat.wait_until(lambda: len(chat.draft) == len(paste), "the paste")
        box.move_cursor((0, 1000))
        await chat.type("inserted words ")
        await chat.wait_until(lambda: "inserted words" in chat.draft, "the words")
        assert wraps_as_textual_does(box)

        # Textual undoes typing a few keys at a time: every step on the way wraps right.
        for _ in "inserted words ":
            await chat.press("ctrl+z")
            await chat.pilot.pause()
            assert wraps_as_textual_does(box)
            if chat.draft == paste:
                break
        assert chat.draft == paste


# A line of words, spaces, runs of spaces, wide characters and words too long for a row.
PIECES = ["a", "bc", " ", "  ", "中", "é", "\u3000", "x ", "longlonglonglongword"]
pieces = st.lists(st.sampled_from(PIECES), max_size=60).map("".join)


@settings(max_examples=400, deadline=None)
@given(line=pieces, width=st.integers(3, 14), edits=st.data())
def test_a_long_line_edited_anywhere_wraps_as_textual_wraps_it(line, width, edits):
    document = Document(line)
    wrapped = LongLineWrap(document, width, long_line=0)  # every line counts as long
    wrapped.single_edit = True  # each range below is exactly what changed, as an edit's is
    for _ in range(edits.draw(st.integers(1, 6))):
        length = len(document[0])
        start = edits.draw(st.integers(0, length))
        end = edits.draw(st.integers(start, length))
        result = document.replace_range((0, start), (0, end), edits.draw(pieces))
        wrapped.wrap_range((0, start), (0, end), result.end_location)

        textual = WrappedDocument(Document(document.text), width)
        assert wrapped.get_offsets(0) == textual.get_offsets(0)
        assert wrapped.height == textual.height
        for column in range(len(document[0]) + 1):
            location = (0, column)
            assert wrapped.location_to_offset(location) == textual.location_to_offset(location)
