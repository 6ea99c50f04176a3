"""A reply printed on the terminal cannot drive it: control sequences go, text stays.

Concrete attacks first, then text that must come through untouched, then hypothesis:
however a reply is cut into pieces, the streaming filter prints what strip_controls does.
"""

from __future__ import annotations

import re
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatapp.terminal_text import MAX_SEQUENCE_CHARS, TerminalFilter, strip_controls

# What a terminal acts on; newline and tab are only layout.
UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def streamed(pieces: list[str]) -> str:
    terminal_filter = TerminalFilter()
    return "".join(terminal_filter.feed(piece) for piece in pieces) + terminal_filter.flush()


@pytest.mark.parametrize(
    ("reply", "printed"),
    [
        pytest.param("\x1b[2J\x1b[Hgone?", "gone?", id="clear screen, cursor home"),
        pytest.param("\x1b]0;pwned\x07hi", "hi", id="window title, BEL"),
        pytest.param("\x1b]2;x\x1b\\hi", "hi", id="window title, ST"),
        pytest.param(
            "see \x1b]8;;https://evil.example\x1b\\the docs\x1b]8;;\x1b\\.",
            "see the docs.",
            id="OSC 8 hyperlink keeps its text",
        ),
        pytest.param("\x1b]52;c;cm0gLXJmIH4=\x07ok", "ok", id="clipboard write"),
        pytest.param("\x1b[?1049hhidden\x1b[?1049l", "hidden", id="alternate screen"),
        pytest.param("\x1bcreset", "reset", id="full reset"),
        pytest.param("\x1b7saved\x1b8", "saved", id="save and restore cursor"),
        pytest.param("\x1b(0lqk\x1b(B", "lqk", id="line-drawing charset"),
        pytest.param("\x9b2Jeight-bit", "eight-bit", id="8-bit CSI"),
        pytest.param("\x9d0;title\x9cshown", "shown", id="8-bit OSC and ST"),
        pytest.param("ding\x07", "ding", id="bell"),
        pytest.param("safe\x08\x08\x08\x08evil", "safeevil", id="backspaces"),
        pytest.param("echo safe\rrm -rf ~", "echo saferm -rf ~", id="carriage return overwrite"),
        pytest.param("line one\r\nline two\r\n", "line one\nline two\n", id="CRLF"),
        pytest.param("\x1bPq#0;2;0;0;0#0~~@@\x1b\\after", "after", id="DCS sixel"),
        pytest.param("\x1b_Gf=100;AAAA\x1b\\x", "x", id="APC graphics"),
        pytest.param("\x1b[31mred\x1b[0m", "red", id="colours"),
        pytest.param("nul\x00 del\x7f c1\x85", "nul del c1", id="NUL, DEL, NEL"),
        pytest.param("text\x1b]0;never closed", "text", id="unterminated OSC at the end"),
        pytest.param("text\x1b[12", "text", id="unfinished CSI at the end"),
        pytest.param("text\x1b", "text", id="lone ESC at the end"),
        pytest.param("\x1b]0;a\x1b[2Jb", "b", id="an ESC inside a title starts a new sequence"),
        pytest.param("\x1b[1;é", "é", id="broken CSI: the text after it shows"),
    ],
)
def test_control_sequences_in_a_reply_never_reach_the_terminal(reply: str, printed: str) -> None:
    assert strip_controls(reply) == printed
    assert streamed(list(reply)) == printed


@pytest.mark.parametrize(
    "reply",
    [
        "The capital of France is Paris.",
        "你好，世界",
        "👩‍💻 writes code; 👨‍👩‍👧 family; 🇫🇷 flag; 👍🏽",
        "e\u0301 combining accent, zero\u200bwidth space",
        "a\tb\tc\n\nnew paragraph\n",
        "```python\nprint('hi')\n```\n",
        "Markdown: **bold**, _italic_, [link](https://example.com), | a | b |",
        "",
    ],
)
def test_ordinary_text_passes_unchanged(reply: str) -> None:
    assert strip_controls(reply) == reply
    assert streamed([reply[:3], reply[3:]]) == reply


def test_a_sequence_split_across_pieces_is_held_back_then_dropped() -> None:
    terminal_filter = TerminalFilter()
    assert terminal_filter.feed("Hello \x1b]0;pw") == "Hello "
    assert terminal_filter.feed("ned\x1b") == ""
    assert terminal_filter.feed("\\world") == "world"
    assert terminal_filter.feed("\x9b") == ""
    assert terminal_filter.flush() == ""


@pytest.mark.parametrize("piece_size", [1, 100, 10_000])
def test_a_title_that_never_closes_does_not_hold_the_reply_back_forever(piece_size: int) -> None:
    # The body counts from "0;", so the last two x's are past the cap.
    reply = "\x1b]0;" + "x" * MAX_SEQUENCE_CHARS + " and the rest of the reply"
    pieces = [reply[i : i + piece_size] for i in range(0, len(reply), piece_size)]
    assert streamed(pieces) == strip_controls(reply) == "xx and the rest of the reply"


def test_a_filter_is_ready_for_a_new_stream_after_flush() -> None:
    terminal_filter = TerminalFilter()
    assert terminal_filter.feed("one\x1b]0;") == "one"
    assert terminal_filter.flush() == ""
    assert terminal_filter.feed("two") == "two"


# Whole and cut sequences, lone introducers and terminators, so that the random texts
# are mostly about the edges: sequences opened, closed, broken and split.
FRAGMENTS = st.sampled_from(
    [
        "\x1b",
        "\x1b[",
        "\x1b]",
        "\x1bP",
        "\x1b_",
        "\x1b\\",
        "\x1b(",
        "\x1b[?1049h",
        "\x1b[2J",
        "\x1b]0;title\x07",
        "\x1b]8;;https://x\x1b\\",
        "\x9b",
        "\x9d",
        "\x90",
        "\x9c",
        "\x07",
        "\r",
        "\r\n",
        "\n",
        "\t",
        "1;2",
        "m",
        "你好",
        "👩‍💻",
    ]
)
REPLIES = st.lists(st.one_of(FRAGMENTS, st.text(max_size=8)), max_size=30).map("".join)


@st.composite
def cut_replies(draw: st.DrawFn) -> tuple[str, list[str]]:
    reply = draw(REPLIES)
    cuts = sorted(draw(st.lists(st.integers(0, len(reply)), max_size=10)))
    bounds = [0, *cuts, len(reply)]
    return reply, [reply[start:end] for start, end in pairwise(bounds)]


@given(cut_replies())
def test_however_a_reply_is_cut_the_stream_prints_the_same(cut: tuple[str, list[str]]) -> None:
    reply, pieces = cut
    assert streamed(pieces) == strip_controls(reply)


@given(REPLIES)
def test_what_is_printed_holds_no_control_but_newline_and_tab(reply: str) -> None:
    printed = strip_controls(reply)
    assert not UNSAFE.search(printed)
    assert strip_controls(printed) == printed


@given(st.text(st.characters(blacklist_categories=["Cc"]) | st.sampled_from("\n\t")))
def test_text_without_controls_is_printed_as_it_came(reply: str) -> None:
    assert strip_controls(reply) == reply
