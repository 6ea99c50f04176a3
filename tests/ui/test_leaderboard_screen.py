"""The leaderboard screen: the models ranked by the user's choices, by template with t,
and Esc back to the chat."""

from __future__ import annotations

from chatapp.config import Settings
from chatapp.core.feedback.leaderboard import Grouping
from chatapp.core.feedback.log import FeedbackLog
from chatapp.core.feedback.records import TemplateRef
from chatapp.store.feedback import FeedbackRepo
from chatapp.store.users import UserDir
from chatapp.ui.screens.leaderboard import LeaderboardScreen
from tests.ui.conftest import USER
from tests.unit.test_leaderboard import record, reply


def ranked(screen: LeaderboardScreen) -> list[str]:
    """The entities the table shows, top to bottom."""
    table = screen.standings
    return [str(table.get_row_at(number)[1]) for number in range(table.row_count)]


async def test_the_table_ranks_models_and_t_ranks_templates(open_chat, settings: Settings):
    log = FeedbackLog(FeedbackRepo(UserDir(settings.data_dir, USER).feedback), USER)
    record(log, reply("big", TemplateRef("concise", 2)), reply("small"), times=3)
    record(log, reply("small"), reply("big"))

    async with open_chat(settings) as chat:
        screen = LeaderboardScreen(chat.app.workspace)
        await chat.app.push_screen(screen)
        await chat.wait_until(lambda: ranked(screen) == ["big", "small"], "the models ranked")
        await chat.wait_for_text("4 of 4 choices between different models")
        assert "3/1/0" in chat.text_of(screen.standings)

        await chat.press("t")
        await chat.wait_until(lambda: screen.board and screen.board.by == Grouping.TEMPLATE, "t")
        assert ranked(screen) == ["concise v2", "(no template)"]
        await chat.wait_for_text("by template")

        await chat.press("escape")
        await chat.wait_until(lambda: not isinstance(chat.app.screen, LeaderboardScreen), "back")
