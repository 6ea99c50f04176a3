"""The multi-line box the user writes messages in, with the document and the wrapped view
of it that keep typing after a huge paste as quick as in a box of a few lines."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import pairwise
from typing import ClassVar

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual import events
from textual._cells import cell_width_to_column_index
from textual._wrap import compute_wrap_offsets
from textual.binding import Binding, BindingType
from textual.expand_tabs import expand_tabs_inline
from textual.geometry import Offset
from textual.message import Message
from textual.strip import Strip
from textual.widgets import TextArea
from textual.widgets.text_area import (
    Document,
    DocumentBase,
    Edit,
    EditResult,
    Location,
    WrappedDocument,
)

PLACEHOLDER = "Message… (Enter to send, ctrl+j for a new line)"
# From this many characters on, a line is wrapped and drawn a section at a time: Textual
# rewraps and re-splits an edited line whole, a second a key for a 2 MB pasted line.
LONG_LINE = 4000


class VersionedDocument(Document):
    """A Document that counts its changes: its wrapped view can tell that wrapping it
    again at the same width would change nothing."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.version = 0

    def replace_range(self, start: Location, end: Location, text: str) -> EditResult:
        self.version += 1
        return super().replace_range(start, end, text)


class LongLineWrap(WrappedDocument):
    """Textual's wrapped view of a document, with the same sections, at a cost that follows
    what changed and what is shown rather than the length of the line or the document.

    An edit inside one long line is rewrapped from two sections before it until the new
    breaks meet the old ones again; the height is the count of wrapped rows (Textual sums
    every line's sections each time it is asked, for each row it draws).
    """

    def __init__(
        self, document: DocumentBase, width: int = 0, tab_width: int = 4, long_line: int = LONG_LINE
    ) -> None:
        self.long_line = long_line
        # True while TextArea applies one edit: the range it asks to rewrap is then exactly
        # what changed. (For an undo of several edits it is right only row by row.)
        self.single_edit = False
        # The document's version this wrapping is of (None: unknown, or not versioned).
        self._version: int | None = None
        super().__init__(document, width, tab_width)

    @property
    def height(self) -> int:
        return len(self._offset_to_line_info)

    def row(self, y_offset: int) -> tuple[int, int]:
        """The (line index, section index) drawn at this wrapped row."""
        return self._offset_to_line_info[y_offset]

    def has_tabs(self, line_index: int) -> bool:
        # Every tab has a width of at least one cell; the text after the last tab, none.
        return any(self._tab_width_cache[line_index])

    def section_bounds(self, line_index: int, section: int) -> tuple[int, int]:
        """Where a section (a wrapped row) of a line starts and ends, in columns."""
        offsets = self._wrap_offsets[line_index]
        start = offsets[section - 1] if section else 0
        end = offsets[section] if section < len(offsets) else len(self.document[line_index])
        return start, end

    def get_sections(self, line_index: int) -> list[str]:
        line = self.document[line_index]
        return [line[a:b] for a, b in pairwise([0, *self._wrap_offsets[line_index], len(line)])]

    def location_to_offset(self, location: Location) -> Offset:
        line_index, column = location
        line_index = max(0, min(line_index, len(self._line_index_to_offsets) - 1))
        section = bisect_right(self._wrap_offsets[line_index], column)
        start, _ = self.section_bounds(line_index, section)
        before = self.document[line_index][start:column]
        x_offset = cell_len(expand_tabs_inline(before, self._tab_width))
        return Offset(x_offset, self._line_index_to_offsets[line_index][section])

    def get_target_document_column(self, line_index: int, x_offset: int, y_offset: int) -> int:
        sections = len(self._wrap_offsets[line_index]) + 1
        section = y_offset % sections
        start, end = self.section_bounds(line_index, section)
        text = self.document[line_index][start:end]
        column = start + cell_width_to_column_index(text, x_offset, self._tab_width)
        if section != sections - 1:
            # Only the last section has room for the cursor after its last character.
            column = min(column, end - 1)
        return column

    def wrap(self, width: int, tab_width: int | None = None) -> None:
        version = getattr(self.document, "version", None)
        unchanged = version is not None and version == self._version
        if unchanged and width == self._width and tab_width in (None, self._tab_width):
            return  # TextArea rewraps on every resize, of the height too: a second for 2 MB
        super().wrap(width, tab_width)
        self._version = version

    def wrap_range(self, start: Location, old_end: Location, new_end: Location) -> None:
        if not self._rewrap_within_line(start, old_end, new_end):
            super().wrap_range(start, old_end, new_end)
        self._version = getattr(self.document, "version", None)

    def _rewrap_within_line(self, start: Location, old_end: Location, new_end: Location) -> bool:
        """Rewrap only around one edit inside one long line; False if this is not one
        (then the whole range is rewrapped, as Textual does)."""
        row, top = start
        if not (self.single_edit and self._width and row == old_end[0] == new_end[0]):
            return False
        line = self.document[row]
        old_stop, new_stop = old_end[1], new_end[1]
        if len(line) < self.long_line or self.has_tabs(row) or "\t" in line[top:new_stop]:
            return False
        keep, rest = self._rewrapped(row, top, new_stop, new_stop - old_stop)
        self._replace_line_offsets(row, keep, rest)
        return True

    def _rewrapped(self, row: int, top: int, stop: int, shift: int) -> tuple[int, list[int]]:
        """The wrap offsets of a line whose text changed between top and stop (new
        columns), everything after moving by shift: how many of its offsets from before
        the change stay, and the new ones that follow them."""
        line, offsets = self.document[row], self._wrap_offsets[row]
        # The break that starts a section can move when the first word of the next one
        # changes, so begin two sections before the edit, where nothing can have moved.
        restart = max(bisect_right(offsets, top) - 2, 0)
        origin = offsets[restart - 1] if restart else 0
        after_edit = bisect_right(offsets, stop - shift)
        span = stop - origin + 4 * self._width
        while True:
            end = min(origin + span, len(line))
            window = compute_wrap_offsets(line[origin:end], self._width, self._tab_width)
            fresh = [origin + offset for offset in window]
            for count, offset in enumerate(fresh, 1):
                if offset <= stop:
                    continue
                # A new break on an old one, past the edit: from here on the text and
                # the state of the wrapping are the same as before, so are the breaks.
                old = bisect_left(offsets, offset - shift, after_edit)
                if old < len(offsets) and offsets[old] == offset - shift:
                    tail = [later + shift for later in offsets[old + 1 :]]
                    return restart, fresh[:count] + tail
            if end == len(line):
                return restart, fresh
            # A window cut inside a word can miss the breaks at its end, never add wrong
            # ones: widen it until the breaks meet or the line ends.
            span *= 2

    def _replace_line_offsets(self, row: int, keep: int, rest: list[int]) -> None:
        offsets = self._wrap_offsets[row]
        old_sections = len(offsets) + 1
        offsets[keep:] = rest
        sections = len(offsets) + 1
        self._tab_width_cache[row] = [0] if self.document[row] else []
        if sections == old_sections:
            return
        # The line's rows are one more or fewer: change those, not every row of it.
        rows = self._line_index_to_offsets[row]
        first, infos = rows[0], self._offset_to_line_info
        if sections > old_sections:
            rows.extend(range(first + old_sections, first + sections))
            added = [(row, section) for section in range(old_sections, sections)]
            infos[first + old_sections : first + old_sections] = added
        else:
            del rows[sections:]
            del infos[first + sections : first + old_sections]
        shift = sections - old_sections
        for later in range(row + 1, len(self._line_index_to_offsets)):
            self._line_index_to_offsets[later] = [
                y + shift for y in self._line_index_to_offsets[later]
            ]


class PromptInput(TextArea):
    """A TextArea where Enter sends, ctrl+j adds a line and Up/Down walk past prompts.

    The widget never clears itself on Enter: the screen clears it once the send has
    been accepted, so a failed send leaves the draft where it was.
    """

    DEFAULT_CSS = """
    PromptInput {
        height: auto;
        max-height: 10;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+j,shift+enter", "newline", "New line", show=False),
    ]

    @dataclass
    class Submitted(Message):
        """Posted when Enter is pressed and the text is not blank."""

        prompt_input: PromptInput
        text: str

        @property
        def control(self) -> PromptInput:
            return self.prompt_input

    def __init__(
        self,
        text: str = "",
        *,
        history: Iterable[str] = (),
        placeholder: str = PLACEHOLDER,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        super().__init__(
            text,
            soft_wrap=True,
            show_line_numbers=False,
            placeholder=placeholder,
            name=name,
            id=id,
            classes=classes,
            disabled=disabled,
        )
        self._prompt_history: list[str] = list(history)
        self._history_index: int | None = None
        self._draft = ""

    # TextArea makes a plain Document and WrappedDocument for each new text; the box swaps
    # in its own kinds, with which a key costs about the same after a 2 MB paste as in a
    # box of a few lines. The text is wrapped for real only after both are set, so the
    # swap costs little.

    @property
    def document(self) -> DocumentBase:
        """The text being edited."""
        return self._document

    @document.setter
    def document(self, document: DocumentBase) -> None:
        if type(document) is Document:
            document = VersionedDocument(document.text)
        self._document = document

    @property
    def wrapped_document(self) -> LongLineWrap:
        """The wrapped view of the text."""
        return self._long_line_wrap

    @wrapped_document.setter
    def wrapped_document(self, wrapped: WrappedDocument) -> None:
        self._long_line_wrap = LongLineWrap(self.document, tab_width=wrapped._tab_width)

    def render_line(self, y: int) -> Strip:
        # TextArea joins the whole text for every row it draws, only to see whether the box
        # is empty and shows its placeholder: milliseconds a row for 2 MB.
        if self.document.line_count == 1 and not self.document[0]:
            return super().render_line(y)
        return self._render_line(y)

    def _render_line(self, y: int) -> Strip:
        wrapped = self.wrapped_document
        y_offset = y + self.scroll_offset.y
        if self.soft_wrap and not self.show_line_numbers and y_offset < wrapped.height:
            line_index, section = wrapped.row(y_offset)
            long_line = len(self.document[line_index]) >= wrapped.long_line
            if long_line and not wrapped.has_tabs(line_index):
                return self._render_section(line_index, section)
        return super()._render_line(y)

    def _render_section(self, line_index: int, section: int) -> Strip:
        """One wrapped row of a long line, styled as TextArea styles its rows; TextArea
        would make every section of the line to draw one."""
        theme = self._theme
        base_style = theme.base_style if theme and theme.base_style is not None else self.rich_style
        line = self.document[line_index]
        start, end = self.wrapped_document.section_bounds(line_index, section)
        text = Text(line[start:end], end="", no_wrap=True)
        if end == len(line):
            text.pad_right(1)  # room for the cursor after the last character
        for style, first, last in self._line_styles(line_index, len(line)):
            text.stylize(style, max(first - start, 0), max(last - start, 0))
        on_cursor_row = self.selection.end[0] == line_index
        if theme and on_cursor_row and self.highlight_cursor_line and self._has_cursor:
            row_style = theme.cursor_line_style
        else:
            row_style = theme.base_style if theme else None
        strip = Strip(text.render(self.app.console), text.cell_len)
        width = self.scrollable_content_region.size.width - self.gutter_width
        return strip.extend_cell_length(width, row_style).apply_style(base_style)

    def _line_styles(self, line_index: int, length: int) -> list[tuple[Style, int, int]]:
        """The styles TextArea puts on a line (cursor row, selection, brackets, cursor), in
        the order it puts them, as (style, first column, column after the last)."""
        theme = self._theme
        if not theme:
            return []
        top, bottom = sorted(self.selection)
        cursor_row, cursor_column = self.selection.end
        at_cursor = (cursor_column, cursor_column + 1)
        styles: list[tuple[Style | None, int, int]] = []
        if cursor_row == line_index and self.highlight_cursor_line and self._has_cursor:
            styles.append((theme.cursor_line_style, 0, length + 1))
        if top != bottom and top[0] <= line_index <= bottom[0]:
            first = top[1] if top[0] == line_index else 0
            last = bottom[1] if bottom[0] == line_index else length
            styles.append((theme.selection_style, first, last))
        bracket = self._matching_bracket_location
        if bracket and top == bottom and self._has_cursor and self.match_cursor_bracket:
            if cursor_row == line_index:
                styles.append((theme.bracket_matching_style, *at_cursor))
            if bracket[0] == line_index:
                styles.append((theme.bracket_matching_style, bracket[1], bracket[1] + 1))
        if cursor_row == line_index and self._draw_cursor:
            styles.append((theme.cursor_style, *at_cursor))
        return [(style, first, last) for style, first, last in styles if style]

    def edit(self, edit: Edit) -> EditResult:
        # After one edit, the range TextArea has rewrapped is exactly what changed.
        wrapped = self.wrapped_document
        wrapped.single_edit = True
        try:
            return super().edit(edit)
        finally:
            wrapped.single_edit = False

    @property
    def prompt_history(self) -> list[str]:
        """Submitted prompts, oldest first (a copy; add with `remember`)."""
        return list(self._prompt_history)

    @prompt_history.setter
    def prompt_history(self, prompts: Iterable[str]) -> None:
        self._prompt_history = list(prompts)
        self._history_index = None

    def remember(self, text: str) -> None:
        """Add a sent prompt to the history and leave history browsing."""
        if text.strip() and (not self._prompt_history or self._prompt_history[-1] != text):
            self._prompt_history.append(text)
        self._history_index = None
        self._draft = ""

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            self.action_submit()

    def action_submit(self) -> None:
        if self.read_only or not self.text.strip():
            return
        self.post_message(self.Submitted(self, self.text))

    def action_newline(self) -> None:
        if not self.read_only:
            self.replace("\n", *self.selection, maintain_selection_offset=False)

    def action_cursor_up(self, select: bool = False) -> None:
        on_top_row = self.navigator.is_first_wrapped_line(self.cursor_location)
        if select or not on_top_row or not self._recall_older():
            super().action_cursor_up(select)

    def action_cursor_down(self, select: bool = False) -> None:
        on_bottom_row = self.navigator.is_last_wrapped_line(self.cursor_location)
        if select or not on_bottom_row or not self._recall_newer():
            super().action_cursor_down(select)

    def _recall_older(self) -> bool:
        if self._history_index is None:
            if not self._prompt_history:
                return False
            self._draft = self.text
            self._history_index = len(self._prompt_history)
        if self._history_index == 0:
            return False
        self._history_index -= 1
        self._show(self._prompt_history[self._history_index], cursor_at_end=True)
        return True

    def _recall_newer(self) -> bool:
        if self._history_index is None:
            return False
        self._history_index += 1
        if self._history_index < len(self._prompt_history):
            self._show(self._prompt_history[self._history_index], cursor_at_end=False)
        else:
            self._history_index = None
            self._show(self._draft, cursor_at_end=True)
        return True

    def _show(self, text: str, *, cursor_at_end: bool) -> None:
        self.replace(text, (0, 0), self.document.end, maintain_selection_offset=False)
        if cursor_at_end:
            self.move_cursor(self.document.end)
        else:
            self.move_cursor((0, len(self.document[0])))
