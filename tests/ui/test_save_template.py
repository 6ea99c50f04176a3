"""Save as template: a past message opens in a box, the user selects the words that
change from use to use, ctrl+v makes them a variable, names the template and saves it. The
saved template, filled in with its example, gives the message back, braces and all; saving
it again keeps the earlier version."""

from __future__ import annotations

from textual.widgets import Button, Input, TextArea

from chatapp.core.templates import Template, TemplateLibrary
from chatapp.ui.screens.save_template import SaveTemplateScreen
from chatapp.ui.screens.text_prompt import TextPromptScreen
from tests.ui.screen_host import User, showing

MESSAGE = (
    "Translate into French, keep {{ name }} and {% raw %} as they are:\nThe weather is lovely."
)


# The message box has no keys for its start and end: enough arrows get there.
TO_START = ("up",) * 20 + ("home",)
TO_END = ("down",) * 20 + ("end",)


async def select_line(user: User, line: int) -> None:
    """Select a whole line of the message with the keyboard."""
    await user.press(*TO_START, *["down"] * line, "shift+end")


async def make_variable(user: User, name: str | None = None) -> None:
    """ctrl+v, then take the suggested name or type another."""
    await user.press("ctrl+v")
    await user.wait_until(lambda: isinstance(user.app.screen, TextPromptScreen), "the name prompt")
    if name is not None:
        await user.press("ctrl+a", "ctrl+k")
        await user.type(name)
    await user.press("enter")
    await user.wait_until(lambda: isinstance(user.app.screen, SaveTemplateScreen), "the form")


async def fill(user: User, field: str, text: str) -> None:
    user.app.screen.query_one(f"#{field}", Input).focus()
    await user.type(text)


async def saved(user: User) -> Template:
    await user.press("ctrl+s")
    await user.wait_until(lambda: user.app.results, "the template to be saved")
    template = user.result
    assert isinstance(template, Template)
    return template


async def test_a_marked_span_becomes_the_main_variable_and_renders_back(library):
    async with showing(SaveTemplateScreen(library, MESSAGE, "french")) as user:
        await select_line(user, 1)
        await make_variable(user)  # the first one is `input`
        message = user.app.screen.query_one("#message", TextArea)
        assert message.text.endswith("as they are:\n{{ input }}")
        assert (
            user.sees("#variables")
            == "Variables: {{ input }} (main, line) = “The weather is lovely.”"
        )
        await fill(user, "title", "To French")
        await fill(user, "tags", "translation, 法语")
        template = await saved(user)

    assert (template.name, template.version, template.main) == ("french", 1, "input")
    assert (template.title, template.tags) == ("To French", ("translation", "法语"))
    assert template.variables["input"].type == "line" and template.variables["input"].required
    assert template.example is not None
    assert template.example.variables == {"input": "The weather is lovely."}
    # Filled in with its example, it is the message again: its own braces stayed literal.
    assert library.render(template, template.example.variables).user == MESSAGE
    rendered = library.render("french", {"input": "Il pleut."})
    assert rendered.user == MESSAGE.replace("The weather is lovely.", "Il pleut.")


async def test_two_variables_the_second_named_by_the_user(library):
    text = "把下面这段话翻译成英文：\n今天天气很好，我们去公园散步吧。\n语气：正式"
    async with showing(SaveTemplateScreen(library, text, "fanyi")) as user:
        await select_line(user, 1)
        await make_variable(user)
        await user.press(*TO_END, "shift+left", "shift+left")  # 正式
        # Taken and impossible names are asked again, saying why.
        await user.press("ctrl+v")
        await user.wait_until(lambda: isinstance(user.app.screen, TextPromptScreen), "prompt")
        assert user.app.screen.query_one(Input).value == "var2"
        await user.press("ctrl+a", "ctrl+k")
        await user.type("input")
        await user.press("enter")
        await user.wait_until(lambda: "already stands for" in user.app.screen_text(), "why")
        assert isinstance(user.app.screen, TextPromptScreen)
        await user.press("ctrl+a", "ctrl+k")
        await user.type("tone")
        await user.press("enter")
        await user.wait_until(lambda: isinstance(user.app.screen, SaveTemplateScreen), "the form")
        template = await saved(user)

    assert template.main == "input" and list(template.variables) == ["input", "tone"]
    assert template.example is not None
    assert template.example.variables == {
        "input": "今天天气很好，我们去公园散步吧。",
        "tone": "正式",
    }
    assert library.render(template, template.example.variables).user == text


async def test_save_waits_for_a_variable_and_a_good_name(library):
    async with showing(SaveTemplateScreen(library, "Summarise this: tides.")) as user:
        save = user.app.screen.query_one("#save", Button)
        assert save.disabled
        assert user.sees("#why").startswith("Make at least one variable")
        await user.press("ctrl+s")
        assert user.app.results == []

        await user.press(*TO_END, *["shift+left"] * 6)  # tides.
        await make_variable(user)
        assert user.sees("#why") == "Give the template a name" and save.disabled
        await fill(user, "name", "my/notes")
        assert user.sees("#why").startswith("'my/notes' cannot be a template name: letters")
        assert save.disabled
        await user.press("ctrl+a", "ctrl+k")
        await user.type("notes")
        assert user.sees("#why") == "Saves a new template of yours: notes" and not save.disabled
        template = await saved(user)
    assert library.render(template, template.example.variables).user == "Summarise this: tides."


async def test_the_buttons_save_and_cancel_as_the_keys_do(library):
    text = "Write a haiku about the sea."
    async with showing(SaveTemplateScreen(library, text, "haiku")) as user:
        await user.press(*TO_END, *["shift+left"] * 4)  # sea.
        await make_variable(user, "topic")
        await user.pilot.click("#save")
        await user.wait_until(lambda: user.app.results, "the template to be saved")
        assert isinstance(user.result, Template) and user.result.name == "haiku"
    async with showing(SaveTemplateScreen(library, text, "haiku")) as user:
        await user.pilot.click("#cancel")
        await user.wait_until(lambda: user.app.results, "the form to close")
        assert user.result is None
    assert [version.number for version in library.history("haiku")] == [1]


async def test_ctrl_v_outside_the_message_is_a_paste(library):
    async with showing(SaveTemplateScreen(library, "Hello there")) as user:
        await user.press("shift+end")
        user.app.copy_to_clipboard("pasted")
        await fill(user, "name", "")
        await user.press("ctrl+v")
        assert user.app.screen.query_one("#name", Input).value == "pasted"
        assert isinstance(user.app.screen, SaveTemplateScreen)


async def test_saving_again_keeps_the_earlier_version(library: TemplateLibrary):
    first = "Write a haiku about the sea."
    async with showing(SaveTemplateScreen(library, first, "haiku")) as user:
        await user.press(*TO_END, *["shift+left"] * 4)  # sea.
        await make_variable(user, "topic")
        assert (await saved(user)).version == 1

    second = "Write a short haiku about the mountains."
    async with showing(SaveTemplateScreen(library, second, "haiku")) as user:
        await user.press(*TO_END, "left", *["shift+left"] * 9)  # mountains
        await make_variable(user, "topic")
        await user.wait_for("#why", "You have a template 'haiku': saving makes version 2")
        template = await saved(user)
        await user.wait_until(lambda: "as version 2" in user.app.screen_text(), "the notice")

    assert template.version == 2
    assert [version.number for version in library.history("haiku")] == [1, 2]
    earlier = library.version("haiku", 1)
    assert earlier.example is not None and earlier.example.variables == {"topic": "sea."}
    assert library.render(earlier, {"topic": "sea."}).user == first
    assert library.render("haiku", {"topic": "mountains"}).user == second
