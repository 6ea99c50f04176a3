"""Using a template: pick it by typing part of its name, title or tags (Chinese too), fill
its fields in, see the prompt they make and its size as you type, send it.

Each screen runs alone in a small host app over the real library: the built-in templates
shipped in prompts/ and a user folder in the test's temp dir."""

from __future__ import annotations

from typing import Any

import pytest
from textual.widgets import Button, Input, OptionList, Select, TextArea

from chatapp.core.errors import BackendError
from chatapp.core.templates import Template, TemplateLibrary, Variable
from chatapp.ui.screens.template_form import FormResult, TemplateFormScreen
from chatapp.ui.screens.template_picker import TemplatePickerScreen
from tests.ui.screen_host import User, showing


def form(library: TemplateLibrary, name: str, **options: Any) -> TemplateFormScreen:
    return TemplateFormScreen(library.get(name), library, **options)


def shown_system(screen: TemplateFormScreen) -> str:
    return screen.preview.shown.system if screen.preview.shown is not None else ""


# -- the form --------------------------------------------------------------------------------


async def test_the_form_starts_from_the_defaults_with_the_main_field_first(library):
    async with showing(form(library, "translate-en-zh")) as user:
        screen = user.app.screen
        fields = list(screen.query("#fields > TextArea, #fields > Select, #fields > Input"))
        assert [field.id for field in fields] == ["var-text", "var-variant", "var-glossary"]
        assert isinstance(fields[0], TextArea) and screen.focused is fields[0]
        assert screen.query_one("#var-variant", Select).value == "simplified"
        assert screen.query_one("#var-glossary", Input).value == ""
        labels = user.sees("#fields")
        assert "text The English text to translate" in labels
        assert "variant Which written Chinese to produce (optional)" in labels


async def test_the_preview_shows_what_is_typed_and_its_size(library):
    async with showing(form(library, "translate-en-zh")) as user:
        await user.type("Good morning, 世界")
        await user.wait_for("#preview", "Good morning, 世界")
        await user.wait_for("#preview-head", "tokens")
        preview = user.sees("#preview")
        assert preview.startswith("User Translate the text between the <text> tags.")
        assert "System You are a professional English-to-Chinese translator" in preview
        assert "Simplified Chinese as written in mainland China" in preview
        # No counter given: an estimate, and it says so.
        assert user.sees("#preview-head").startswith("Preview · ≈ ")
        assert not user.app.screen.query_one("#send", Button).disabled


async def test_a_missing_required_value_is_named_and_send_waits_for_it(library):
    async with showing(form(library, "summarize")) as user:
        await user.wait_for("#notice", "needs variable 'text'")
        assert (
            user.sees("#notice")
            == "template 'summarize' needs variable 'text' (The text to summarize)"
        )
        # The prompt is still shown, with a placeholder where the text goes.
        assert "Summarize the following text in three bullet points. ‹text›" in user.sees(
            "#preview"
        )
        send = user.app.screen.query_one("#send", Button)
        assert send.disabled
        await user.press("ctrl+s")
        assert user.app.results == [] and user.sees("#notice").startswith("template 'summarize'")

        # (Pilot cannot press full-width punctuation such as 。: letters only.)
        await user.type("潮汐由月球引力引起")
        await user.wait_for("#preview", "three bullet points. 潮汐由月球引力引起")
        assert not send.disabled and not user.app.screen.has_class("-problem")


async def test_send_returns_the_prompt_of_the_fields_chosen(library):
    counted: list[int] = []

    def count_tokens(messages: list[Any]) -> int:
        counted.append(len(messages))
        return 42

    screen = form(library, "translate-en-zh", count_tokens=count_tokens, initial={"text": "Hi"})
    async with showing(screen) as user:
        await user.type(" all")
        # Tab leaves the text box for the next field; Enter opens the choice, Down, Enter.
        await user.press("tab", "enter", "down", "enter")
        assert screen.query_one("#var-variant", Select).value == "traditional-taiwan"
        await user.press("tab")
        await user.type("deploy = 部署")
        # Below the user part, out of sight: the system prompt as the preview has it.
        await user.wait_until(
            lambda: "(glossary): deploy = 部署" in shown_system(screen), "the glossary"
        )
        assert "Traditional Chinese as written in Taiwan" in shown_system(screen)
        # Counted by the given counter: no "≈"; system and user are two messages.
        assert user.sees("#preview-head") == "Preview · 42 tokens" and counted[-1] == 2
        await user.press("ctrl+s")
        result = user.result
        assert isinstance(result, FormResult) and result.template.name == "translate-en-zh"
        assert result.values == {
            "text": "Hi all",
            "variant": "traditional-taiwan",
            "glossary": "deploy = 部署",
        }
        assert "<text>\nHi all\n</text>" in result.rendered.user
        assert "繁體中文，台灣用語" in result.rendered.system
        assert result.rendered.variables["variant"] == "traditional-taiwan"


async def test_the_preview_waits_for_the_typing_to_pause(library):
    renders: list[str] = []

    def count_tokens(messages: list[Any]) -> None:
        renders.append(messages[-1]["content"])

    typed = "the quick brown fox jumps over the lazy dog"
    async with showing(form(library, "summarize", count_tokens=count_tokens)) as user:
        await user.type(typed)
        await user.wait_for("#preview", typed)
        # Rendered after pauses in the typing, not once per key.
        assert 1 <= len(renders) < len(typed) / 4
        assert typed in renders[-1]


async def test_a_model_that_cannot_count_leaves_an_estimate(library):
    def count_tokens(messages: list[Any]) -> int:
        raise BackendError("model smollm2: the file cannot be loaded")

    screen = form(library, "summarize", count_tokens=count_tokens, initial={"text": "Tides."})
    async with showing(screen) as user:
        await user.wait_for("#preview-head", "≈")
        assert not screen.query_one("#send", Button).disabled


async def test_a_number_field_takes_numbers_only(library):
    async with showing(form(library, "brainstorm", initial={"topic": "names for a cat"})) as user:
        count = user.app.screen.query_one("#var-count", Input)
        assert count.value == "10"
        count.focus()
        await user.press("end", "backspace", "x", "5")
        assert count.value == "15"
        await user.wait_for("#preview", "15")
        await user.press("ctrl+s")
        assert user.result.rendered.variables["count"] == 15


async def test_escape_closes_the_form_without_sending(library):
    async with showing(form(library, "summarize", initial={"text": "A text"})) as user:
        await user.press("escape")
        assert user.result is None


async def test_the_buttons_send_and_cancel_as_the_keys_do(library):
    async with showing(form(library, "summarize", initial={"text": "A text"})) as user:
        send = user.app.screen.query_one("#send", Button)
        await user.wait_until(lambda: not send.disabled, "the preview")
        await user.pilot.click("#send")
        await user.wait_until(lambda: user.app.results, "the prompt to be sent")
        assert isinstance(user.result, FormResult) and user.result.values["text"] == "A text"
    async with showing(form(library, "summarize", initial={"text": "A text"})) as user:
        await user.pilot.click("#cancel")
        await user.wait_until(lambda: user.app.results, "the form to close")
        assert user.result is None


@pytest.mark.parametrize(("size", "beside"), [((120, 40), True), ((80, 24), False)])
async def test_the_preview_sits_beside_the_fields_when_there_is_room(library, size, beside):
    async with showing(form(library, "summarize"), size) as user:
        fields = user.app.screen.query_one("#fields").region
        preview = user.app.screen.query_one("#preview-pane").region
        if beside:
            assert preview.x >= fields.right and preview.y == fields.y
        else:
            assert preview.y >= fields.bottom and preview.x == fields.x


# -- the picker ------------------------------------------------------------------------------


def listed(user: User) -> list[str]:
    options = user.app.screen.query_one(OptionList).options
    return [option.id or "" for option in options]


async def test_the_picker_filters_as_you_type_and_enter_picks(library):
    async with showing(TemplatePickerScreen(library)) as user:
        everything = [template.name for template in library.templates()]
        await user.wait_until(lambda: listed(user) == everything, "every template listed")
        await user.type("translate")
        await user.wait_until(lambda: len(listed(user)) == 3, "the translators")
        assert listed(user) == ["translate", "translate-en-zh", "translate-zh-en"]
        # Words match anywhere: names, titles, tags, descriptions.
        await user.type(" chinese english")
        assert listed(user) == ["translate-en-zh", "translate-zh-en"]
        await user.press("down", "enter")
        assert user.result == "translate-zh-en"


async def test_the_picker_finds_chinese_titles_and_marks_the_users_own(library):
    text = Variable("text", "要翻译的文字", "text")
    library.save(
        Template(
            name="fanyi",
            title="翻译成英文",
            main="text",
            user="请翻译：{{ text }}",
            tags=("中文",),
            variables={"text": text},
        )
    )
    async with showing(TemplatePickerScreen(library)) as user:
        await user.type("翻译")
        await user.wait_until(lambda: listed(user) == ["fanyi"], "the Chinese title")
        assert user.sees("#templates") == "翻译成英文 fanyi #中文 yours"
        await user.press("enter")
        assert user.result == "fanyi"


async def test_the_picker_says_when_nothing_matches_and_escape_cancels(library):
    async with showing(TemplatePickerScreen(library)) as user:
        await user.wait_until(lambda: listed(user), "the templates")
        await user.type("zzzz")
        await user.wait_for("#empty", "No template matches “zzzz”.")
        await user.press("enter")  # nothing to pick: stays open
        assert user.app.results == []
        await user.press("escape")
        assert user.result is None
