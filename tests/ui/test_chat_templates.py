"""Templates in the chat screen: /t NAME opens the form and what it sends is recorded,
the palette's compare opens the blind compare screen, a message becomes a template."""

from __future__ import annotations

from textual.widgets import Input, Select, TextArea

from chatapp.ui.screens.compare import CompareScreen
from chatapp.ui.screens.compare_setup import CompareSetupScreen
from chatapp.ui.screens.save_template import SaveTemplateScreen
from chatapp.ui.screens.template_form import TemplateFormScreen


async def test_slash_t_fills_the_form_and_sends_what_it_renders(
    open_chat, make_settings, scripted_server
):
    async with open_chat(make_settings(scripted_server.config())) as chat:
        # Typed as a paste: Pilot has no keys for full-width punctuation.
        chat.screen.prompt.text = "/t tldr 今天下雨了，我们改天再去爬山。"
        await chat.press("enter")
        await chat.wait_until(lambda: isinstance(chat.app.screen, TemplateFormScreen), "the form")
        await chat.wait_for_text("今天下雨了")
        await chat.press("ctrl+s")
        await chat.reply_finished()
        question = chat.stored()[0]
        assert "今天下雨了，我们改天再去爬山。" in question.content
        assert question.template is not None and question.template["name"] == "tldr"
        assert chat.draft == ""  # the box was not used, nor cleared of anything


async def test_an_unknown_template_is_one_notice_and_the_box_keeps_its_text(
    open_chat, make_settings, scripted_server
):
    async with open_chat(make_settings(scripted_server.config())) as chat:
        await chat.send("/t tldrr hello")
        await chat.wait_for_text("did you mean 'tldr'")
        assert chat.screen.session is None


async def test_compare_from_the_palette_runs_two_variants_blind(
    open_chat, make_settings, scripted_server
):
    async with open_chat(make_settings(scripted_server.config())) as chat:
        await chat.type("The meeting moved to Friday because the client is travelling.")
        chat.screen.action_compare()
        await chat.wait_until(lambda: isinstance(chat.app.screen, CompareSetupScreen), "setup")
        setup = chat.app.screen
        first, second = setup.query(".variant")
        first.query_one(".template", Select).value = "tldr"
        second.query_one(".temperature", Input).value = "0.7"
        assert "Friday" in setup.query_one("#input", TextArea).text
        await chat.press("ctrl+s")
        await chat.wait_until(lambda: isinstance(chat.app.screen, CompareScreen), "compare")
        compare = chat.app.screen
        await chat.wait_until(lambda: compare.run is not None and compare.run.done, "replies")
        assert compare.run.letters == "AB" and not compare.run.revealed
        await chat.press("1")
        await chat.wait_until(lambda: chat.app.workspace.feedback.log.events(), "the choice")
        (event,) = chat.app.workspace.feedback.log.events()
        assert event.type == "pairwise" and len(event.choice.shown_order) == 2


async def test_a_question_becomes_a_template(open_chat, make_settings, scripted_server):
    async with open_chat(make_settings(scripted_server.config())) as chat:
        await chat.send("Translate 'good morning' into French, please.")
        await chat.reply_finished()
        chat.screen.action_save_as_template()
        await chat.wait_until(lambda: isinstance(chat.app.screen, SaveTemplateScreen), "save")
        assert "good morning" in chat.app.screen.query_one(TextArea).text


async def test_cancelling_the_form_gives_the_typed_command_back(
    open_chat, make_settings, scripted_server
):
    async with open_chat(make_settings(scripted_server.config())) as chat:
        await chat.send("/t tldr a long text")
        await chat.wait_until(lambda: isinstance(chat.app.screen, TemplateFormScreen), "the form")
        await chat.press("escape")
        await chat.wait_until(lambda: chat.draft == "/t tldr a long text", "the text back")
        assert chat.screen.session is None
