"""When the data folder fails under the TUI: read-only, a full disk, a damaged file. The
app keeps running, says once and for all that it is not saving, still answers, and
nothing the user typed or stored before is lost. Also Ctrl-C while a reply streams."""

from __future__ import annotations

import orjson
from textual.widgets import Static

from chatapp.core.models import Role
from chatapp.ui.widgets.message_view import MessageView
from tests.fixtures.disks import fill, full_disk, make_room, read_only


def files_of(folder) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def saving_banner(chat) -> str:
    """The banner's text (read from the widget: a toast may be drawn over it)."""
    banner = chat.screen.query_one("#saving", Static)
    return str(banner.content) if banner.display and chat.screen.has_class("-not-saving") else ""


async def test_a_read_only_data_folder_lists_history_and_chats_without_saving(
    open_chat, make_settings, scripted_server, store_conversation, data_dir
):
    model = scripted_server.config()
    store_conversation("Kept from before", ["old question", "old answer"], model=model.name)
    before = files_of(data_dir)
    with read_only(data_dir):
        async with open_chat(make_settings(model)) as chat:
            await chat.wait_until(lambda: "Kept from before" in chat.sidebar(), "the history")
            await chat.wait_until(lambda: saving_banner(chat), "the banner")
            assert saving_banner(chat).startswith("not saving: data folder is read-only")

            await chat.send("Does it still answer?")
            await chat.reply_finished()
            assert chat.thread()[-1] == ("assistant", "You said: Does it still answer?")
            assert chat.draft == ""
            assert chat.app.is_running
    assert files_of(data_dir) == before


async def test_a_full_disk_gives_the_message_back_then_chats_without_saving(
    open_chat, make_settings, scripted_server, store_conversation, data_dir
):
    model = scripted_server.config()
    with full_disk(data_dir):
        store_conversation("Kept from before", ["old question", "old answer"], model=model.name)
        before = files_of(data_dir)
        async with open_chat(make_settings(model)) as chat:
            await chat.wait_until(lambda: "Kept from before" in chat.sidebar(), "the history")
            fill(data_dir)
            await chat.send("Is this kept?")
            # The question could not be stored: it is back in the box, not lost.
            await chat.wait_until(lambda: chat.draft == "Is this kept?", "the text back")
            await chat.wait_until(lambda: saving_banner(chat), "the banner")
            assert saving_banner(chat).startswith("not saving: disk is full")

            await chat.press("enter")
            await chat.reply_finished()
            assert chat.thread()[-1] == ("assistant", "You said: Is this kept?")
            await chat.type("typed on a full disk")
            await chat.pilot.pause(1.5)  # the draft save fails and is retried later
            assert chat.app.is_running
            assert chat.draft == "typed on a full disk"
            make_room(data_dir)
        after = files_of(data_dir)
        # What was stored before is intact; the unsaved chat never reached the disk.
        assert {k: v for k, v in after.items() if k in before and k.endswith(".json")} == {
            k: v for k, v in before.items() if k.endswith(".json")
        }
        state = orjson.loads(after["users/tester/ui.json"])
        assert state["state"]["1"]["draft"] == "typed on a full disk"


async def test_a_damaged_conversation_is_named_once_and_the_rest_are_listed(
    open_chat, settings, store_conversation, data_dir
):
    store_conversation("Healthy one", ["q", "a"])
    broken = store_conversation("Broken one", ["q", "a"])
    path = data_dir / "users" / "tester" / "conversations" / f"{broken.id}.json"
    path.write_text('{"conversation": {"1": ')
    async with open_chat(settings) as chat:
        await chat.wait_until(lambda: chat.sidebar() == ["Healthy one"], "the listing")
        await chat.wait_for_text("is corrupt and cannot be read")
        assert broken.id in chat.text()
        assert chat.app.is_running
    moved = list(path.parent.glob(f"{broken.id}.json.corrupt-*"))
    assert [p.read_text() for p in moved] == ['{"conversation": {"1": ']


async def test_ctrl_c_stops_a_streaming_reply_and_the_app_keeps_running(
    open_chat, make_settings, scripted_server
):
    model = scripted_server.config(
        {"Count slowly": [" ".join(str(n) for n in range(200))]}, delay=0.05
    )
    async with open_chat(make_settings(model)) as chat:
        await chat.send("Count slowly")
        await chat.wait_until(lambda: "3 4" in chat.text(), "the reply to stream")
        await chat.press("ctrl+c")
        await chat.reply_finished()
        assert chat.status.endswith("stopped")
        assert chat.app.is_running
        (reply,) = [m for m in chat.stored() if m.role == Role.ASSISTANT]
        assert reply.content.startswith("0 1 2 3 4") and "199" not in reply.content

        # Nothing streams: ctrl+c is Textual's again (a hint, never a quit).
        await chat.press("ctrl+c")
        await chat.pilot.pause(0.2)
        assert chat.app.is_running
        assert len(chat.screen.query(MessageView)) == 2

        help_text = chat.app.screen_text()
        await chat.press("f1")
        await chat.wait_for_text("While a reply streams: stop it")
        assert help_text != chat.app.screen_text()


async def test_a_message_of_invisible_characters_is_not_sent(
    open_chat, make_settings, scripted_server
):
    async with open_chat(make_settings(scripted_server.config())) as chat:
        await chat.type("\u200b\u200b ")
        await chat.press("enter")
        await chat.pilot.pause(0.3)
        assert chat.screen.session is None
        assert not chat.views()


async def test_a_background_save_that_fails_is_a_toast_not_a_crash(
    open_chat, make_settings, scripted_server, store_conversation, data_dir
):
    first, second = scripted_server.config(), scripted_server.config(name="other")
    with full_disk(data_dir):
        kept = store_conversation("Kept", ["question", "answer"], model=first.name)
        async with open_chat(make_settings(first, second)) as chat:
            await chat.wait_until(lambda: chat.sidebar_id("Kept"), "the history")
            chat.screen.open_conversation(kept.id)
            await chat.wait_until(lambda: chat.thread(), "the conversation")
            fill(data_dir)
            await chat.press("ctrl+o")
            await chat.wait_for_text("Answer with which model?")
            await chat.press("down", "enter")  # switching model saves in the background
            await chat.wait_for_text("No space left on device")
            await chat.wait_until(lambda: saving_banner(chat), "the banner")
            assert chat.app.is_running
            assert chat.status.startswith("other")
            make_room(data_dir)
