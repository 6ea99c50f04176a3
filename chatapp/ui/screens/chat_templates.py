"""The chat screen's templates: `/t NAME [text]` in the box or "Use a template…" in the
palette (a picker, then a form with a preview), "Save a message as template", and the
compare screen (set up, run, save a variant). The library is the Workspace's
(core/templates); reading it happens in threads, never on the event loop."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from textual import work
from textual.screen import Screen

from chatapp.core.errors import ChatappError
from chatapp.core.models import Role
from chatapp.ui.widgets.message_view import MessageView

if TYPE_CHECKING:
    from collections.abc import Callable

    from chatapp.config import ModelConfig
    from chatapp.core.practice import Variant
    from chatapp.core.session import ChatSession
    from chatapp.core.templates import TemplateLibrary
    from chatapp.core.turn import Turn
    from chatapp.core.workspace import Workspace
    from chatapp.ui.screens.compare_setup import CompareSetup
    from chatapp.ui.screens.template_form import FormResult
    from chatapp.ui.widgets.prompt_input import PromptInput

TEMPLATE_COMMANDS = ("/t", "/template")


class TemplateActions(Screen[None]):
    """Mixed into ChatScreen, which provides the rest (prompt, session, start_turn...)."""

    workspace: Workspace
    session: ChatSession | None
    last_key_at: Callable[[], float]

    if TYPE_CHECKING:  # ChatScreen's and the other mixins', found through its bases

        @property
        def prompt(self) -> PromptInput: ...

        @property
        def current_model(self) -> ModelConfig: ...

        def start_turn(self, begin: Callable[[ChatSession], Turn], typed: str) -> bool: ...

    # -- using one ------------------------------------------------------------------------

    def template_command(self, text: str) -> bool:
        """Run `/t NAME [text]` typed in the box; False when text is not one."""
        command, _, rest = text.strip().partition(" ")
        if command not in TEMPLATE_COMMANDS:
            return False
        name, _, main = rest.strip().partition(" ")
        # The box is cleared now and given its text back if nothing is sent.
        self.prompt.clear()
        self.use_template(name or None, main.strip(), typed=text)
        return True

    def action_use_template(self) -> None:
        self.use_template(None, "")

    @work(group="templates", exclusive=True)
    async def use_template(self, name: str | None, main: str, typed: str = "") -> None:
        """Pick a template (unless named), fill its form, send what it makes; what was
        typed goes back into the box if nothing is sent."""
        if not await self._fill_and_send(name, main) and typed and not self.prompt.text:
            self.prompt.text = typed
            self.prompt.move_cursor(self.prompt.document.end)

    async def _fill_and_send(self, name: str | None, main: str) -> bool:
        # The screens load when first wanted: the first screen does not need them.
        from chatapp.ui.screens.template_form import TemplateFormScreen
        from chatapp.ui.screens.template_picker import TemplatePickerScreen

        library = await self._library()
        if library is None:
            return False
        if name is None:
            name = await self.app.push_screen_wait(TemplatePickerScreen(library))
            if name is None:
                return False
        try:
            template = await asyncio.to_thread(library.get, name)
        except ChatappError as error:
            self.notify(str(error), severity="error", markup=False)
            return False
        initial = {template.main: main} if main else None
        backend = self.workspace.models.get(self.current_model.name)
        form = TemplateFormScreen(template, library, backend.count_tokens, initial)
        result = await self.app.push_screen_wait(form)
        return result is not None and self.send_filled(result)

    def send_filled(self, result: FormResult) -> bool:
        """Send a filled-in template: its user part as the message, recorded with it."""
        return self.start_turn(
            lambda session: self.workspace.send_template(session, result.template, result.rendered),
            result.rendered.user,
        )

    async def _library(self) -> TemplateLibrary | None:
        """The library, read in a thread the first time; its problems said once."""
        try:
            library = await asyncio.to_thread(lambda: self.workspace.templates)
            warnings = await asyncio.to_thread(lambda: library.warnings)
        except ChatappError as error:
            self.notify(str(error), severity="error", markup=False)
            return None
        if warnings and not getattr(self, "_template_warnings_told", False):
            self._template_warnings_told = True
            self.notify(
                "\n".join(warnings[:5]), title="Templates skipped", severity="warning", markup=False
            )
        return library

    # -- making one -----------------------------------------------------------------------

    def action_save_as_template(self) -> None:
        """The focused user message, else the last one, made into a template."""
        focused = self.focused
        message = focused.message if isinstance(focused, MessageView) else None
        if message is None or message.role != Role.USER:
            thread = self.session.thread if self.session is not None else []
            message = next((m for m in reversed(thread) if m.role == Role.USER), None)
        if message is None:
            self.notify("Send a message first: a template is made from one of yours")
            return
        self.save_as_template(message.content, "")

    @work(group="templates", exclusive=True)
    async def save_as_template(self, text: str, name: str) -> None:
        from chatapp.ui.screens.save_template import SaveTemplateScreen

        library = await self._library()
        if library is None:
            return
        await self.app.push_screen_wait(SaveTemplateScreen(library, text, name))

    # -- comparing ------------------------------------------------------------------------

    def action_compare(self) -> None:
        self.compare(None)

    @work(group="templates", exclusive=True)
    async def compare(self, first_template: str | None) -> None:
        from chatapp.ui.screens.compare_setup import AS_TYPED, CompareSetupScreen

        library = await self._library()
        if library is None:
            return
        templates = await asyncio.to_thread(library.templates)
        models = [self.current_model.name] + [
            name for name in self.workspace.settings.models if name != self.current_model.name
        ]
        setup = await self.app.push_screen_wait(
            CompareSetupScreen(
                [(t.name, t.title) for t in templates],
                models,
                input_text=self.prompt.text,
                first_template=first_template or AS_TYPED,
            )
        )
        if setup is not None:
            await self._start_compare(setup)

    async def _start_compare(self, setup: CompareSetup) -> None:
        from chatapp.ui.screens.compare import CompareScreen

        try:
            variants = [
                self.workspace.variant(
                    setup.input_text,
                    template=choice.template or None,
                    model=choice.model,
                    temperature=choice.temperature,
                )
                for choice in setup.variants
            ]
        except ChatappError as error:
            self.notify(str(error), severity="error", markup=False)
            return
        self.app.push_screen(
            CompareScreen(
                self.workspace,
                variants,
                input_text=setup.input_text,
                repeats=setup.repeats,
                last_key_at=self.last_key_at,
            )
        )

    def save_variant(self, variant: Variant) -> None:
        """A compare variant's prompt as a template (the app hands it over)."""
        name = variant.template["name"] if variant.template else ""
        self.save_as_template(variant.user, str(name))
