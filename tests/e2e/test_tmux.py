"""The installed `chatapp` command in a real terminal (tmux): ask a question, watch the reply
stream in, quit, start again and find the conversation in the sidebar."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from chatapp.store.conversations import ConversationRepo
from chatapp.store.users import UserDir

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("tmux") is None, reason="tmux is not installed (apt-get install tmux)"
    ),
]

WIDTH, HEIGHT = 120, 40
PLACEHOLDER = "Message… (Enter to send"
# Sanity only: bench/ui.py measures the real launch time.
FIRST_PAINT_LIMIT = 5.0
# Loading the embedded model and a whole reply on a busy 2-core machine.
REPLY_TIMEOUT = 120.0
QUESTION = "Tell me a short story about a cat who learns to sail."
USER = "tester"


def chatapp_command() -> str:
    beside = Path(sys.executable).with_name("chatapp")
    found = str(beside) if beside.exists() else shutil.which("chatapp")
    if found is None:
        pytest.fail("the `chatapp` command is not installed: pip install -e '.[test]'")
    return found


class Terminal:
    """One tmux pane of a fixed size on a private tmux server, running `chatapp`."""

    def __init__(self, folder: Path, env: dict[str, str]) -> None:
        # Private to this test: other test runs may drive tmux at the same time.
        self.socket = f"chatapp-e2e-{os.getpid()}-{id(self)}"
        self.env = env
        # remain-on-exit: after chatapp quits, its pane stays, with its exit status.
        self.conf = folder / "tmux.conf"
        self.conf.write_text("set -g remain-on-exit on\nset -g status off\n")
        self.target = "chat"

    def tmux(self, *args: str) -> str:
        command = ["tmux", "-L", self.socket, "-f", str(self.conf), *args]
        # The tmux server passes its environment on to chatapp, and COLUMNS/LINES there
        # (set under pytest) would override the pane's real size.
        env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
        result = subprocess.run(command, capture_output=True, text=True, timeout=30, env=env)
        if result.returncode != 0:
            raise RuntimeError(f"tmux {args[0]}: {result.stderr.strip()}")
        return result.stdout

    def start(self) -> None:
        options = [f"-e{key}={value}" for key, value in self.env.items()]
        self.tmux(
            "new-session", "-d", "-s", self.target, "-x", str(WIDTH), "-y", str(HEIGHT),
            *options, chatapp_command(),
        )  # fmt: skip

    def restart(self) -> None:
        """Run chatapp again in the same pane (it has exited)."""
        self.tmux("respawn-pane", "-t", self.target)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", self.target)

    def status_line(self) -> str:
        """The status bar: the line above the footer."""
        lines = self.screen().rstrip("\n").splitlines()
        return lines[-2] if len(lines) >= 2 else ""

    def wait_for(self, test: Callable[[str], bool], what: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if test(screen):
                return screen
            if time.monotonic() > deadline or self.exited():
                raise AssertionError(f"no {what} within {timeout:g} s; the screen:\n{screen}")
            time.sleep(0.05)

    def type(self, text: str) -> None:
        self.tmux("send-keys", "-t", self.target, "-l", text)

    def press(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", self.target, *keys)

    def exited(self) -> bool:
        return self.tmux("display-message", "-p", "-t", self.target, "#{pane_dead}").strip() == "1"

    def exit_status(self, timeout: float = 15.0) -> int:
        """Wait for chatapp to exit; its exit status."""
        deadline = time.monotonic() + timeout
        while not self.exited():
            if time.monotonic() > deadline:
                raise AssertionError(f"chatapp did not exit; the screen:\n{self.screen()}")
            time.sleep(0.05)
        status = self.tmux("display-message", "-p", "-t", self.target, "#{pane_dead_status}")
        return int(status.strip() or 0)

    def close(self) -> None:
        with contextlib.suppress(RuntimeError):  # already gone
            socket = self.tmux("display-message", "-p", "#{socket_path}").strip()
            self.tmux("kill-server")
            # tmux leaves its socket file behind.
            Path(socket).unlink(missing_ok=True)


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    env = {
        "CHATAPP_DATA_DIR": str(tmp_path / "data"),
        # No config file: chatapp runs on the embedded model, as after a fresh install.
        "CHATAPP_CONFIG": str(tmp_path / "config.toml"),
        "CHATAPP_USER": USER,
    }
    term = Terminal(tmp_path, env)
    yield term
    term.close()


def painted(screen: str) -> bool:
    return PLACEHOLDER in screen and "^q Quit" in screen


def test_ask_watch_the_reply_stream_quit_and_find_it_again(
    terminal: Terminal, tmp_path: Path
) -> None:
    started = time.monotonic()
    terminal.start()
    terminal.wait_for(painted, "first screen", REPLY_TIMEOUT)
    first_paint = time.monotonic() - started
    assert first_paint < FIRST_PAINT_LIMIT, f"first paint took {first_paint:.2f} s"
    assert "No conversations yet" in terminal.screen()

    terminal.type(QUESTION)
    terminal.press("Enter")
    terminal.wait_for(lambda screen: "generating" in screen, "reply starting", REPLY_TIMEOUT)

    # While the reply streams, the screen changes from one look to the next.
    seen_while_generating: list[str] = []
    deadline = time.monotonic() + REPLY_TIMEOUT
    while "generating" in (status := terminal.status_line()):
        seen_while_generating.append(terminal.screen())
        assert time.monotonic() < deadline, "the reply did not finish"
        time.sleep(0.05)
    final = terminal.screen()
    assert "tok/s" in status and "idle" in status, final
    assert len(set(seen_while_generating)) >= 2, "the reply appeared at once, not streamed"
    assert QUESTION in seen_while_generating[0], seen_while_generating[0]
    assert "Assistant" in seen_while_generating[0]

    # The sidebar lists the conversation; quit once it does.
    terminal.wait_for(lambda screen: "No conversations yet" not in screen, "it listed", 30)
    terminal.press("C-q")
    assert terminal.exit_status() == 0, terminal.screen()

    repo = ConversationRepo(UserDir(tmp_path / "data", USER))
    [summary] = repo.list_conversations()
    _, (question, reply) = repo.load(summary.id)
    assert (question.content, reply.role) == (QUESTION, "assistant")
    # The thread follows the reply as it grows: its end was on screen when it finished.
    last_word = re.findall(r"[A-Za-z]{3,}", reply.content)[-1]
    assert last_word in final, final

    terminal.restart()
    screen = terminal.wait_for(
        lambda screen: painted(screen) and "No conversations yet" not in screen,
        "first screen after restart, listing the conversation",
        REPLY_TIMEOUT,
    )
    # The sidebar is narrow: long titles end in an ellipsis, so look for their start.
    assert summary.title[:20] in screen, screen

    terminal.press("C-q")
    assert terminal.exit_status() == 0, terminal.screen()
