"""Appending one message must cost the same whether the user has 1,000 or 100,000 messages.

Builds two users in a temp dir (1k and 100k stored messages, 100 per conversation),
written straight through the storage class, then appends to one conversation of each in
turn and compares the median cost. The last line is one JSON object for CI.

    python bench/store.py [--appends 200] [--dir PATH]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from filelock import FileLock  # noqa: E402

from chatapp.core.models import Conversation, Message, Role  # noqa: E402
from chatapp.store.conversations import (  # noqa: E402
    CONVERSATION_TABLE,
    MESSAGES_TABLE,
    RECORD_ID,
    ConversationRepo,
)
from chatapp.store.tinystore import OrjsonStorage  # noqa: E402
from chatapp.store.users import UserDir  # noqa: E402

TARGET_RATIO = 1.5
PER_CONVERSATION = 100
WORDS = ["model", "token", "reply", "context", "memory", "branch", "stream", "prompt"]


def build_user(data_dir: Path, user: str, total_messages: int) -> ConversationRepo:
    """A user with total_messages stored, without paying for that many appends."""
    repo = ConversationRepo(UserDir(data_dir, user))
    conversations_dir = repo.folder.conversations
    count = total_messages // PER_CONVERSATION
    # Many files, each fsynced: threads let the file system batch the journal commits.
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(lambda n: write_conversation(conversations_dir, user, n), range(count)))
    repo.list_conversations()  # a user who has opened the app has a built index
    return repo


def write_conversation(directory: Path, user: str, number: int) -> None:
    rng = random.Random(number)
    start = time.time() - 86_400 * 365 + number * 600
    conversation = Conversation(user=user, title=f"conversation {number}", created=start)
    messages: dict[str, dict[str, object]] = {}
    parent: str | None = None
    for turn in range(PER_CONVERSATION):
        role = Role.USER if turn % 2 == 0 else Role.ASSISTANT
        text = " ".join(rng.choices(WORDS, k=rng.randint(10, 120)))
        message = Message(conversation.id, role, text, parent_id=parent, created=start + turn)
        messages[str(turn + 1)] = message.to_dict()
        parent = message.id
    conversation.active_leaf = parent
    conversation.updated = start + PER_CONVERSATION
    path = directory / f"{conversation.id}.json"
    tables = {
        CONVERSATION_TABLE: {str(RECORD_ID): conversation.to_dict()},
        MESSAGES_TABLE: messages,
    }
    OrjsonStorage(path, FileLock(f"{path}.lock")).write(tables)


def time_append(repo: ConversationRepo, conversation_id: str, parent_id: str) -> tuple[float, str]:
    message = Message(conversation_id, Role.USER, "one more question " * 8, parent_id=parent_id)
    started = time.perf_counter()
    repo.append_message(message)
    return time.perf_counter() - started, message.id


def measure(repos: list[ConversationRepo], appends: int, warmup: int = 10) -> list[list[float]]:
    """Append to each repo in turn, so disk hiccups hit both sizes alike."""
    tips = []
    for repo in repos:
        summary = repo.list_conversations()[-1]
        conversation, _ = repo.load(summary.id)
        tips.append((conversation.id, conversation.active_leaf or ""))
    timings: list[list[float]] = [[] for _ in repos]
    for round_number in range(warmup + appends):
        for position, repo in enumerate(repos):
            conversation_id, parent_id = tips[position]
            seconds, message_id = time_append(repo, conversation_id, parent_id)
            tips[position] = (conversation_id, message_id)
            if round_number >= warmup:
                timings[position].append(seconds)
    return timings


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appends", type=int, default=200)
    parser.add_argument("--dir", type=Path, default=None, help="where to build the data")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="chatapp-bench-", dir=args.dir) as temp:
        data_dir = Path(temp)
        started = time.perf_counter()
        small = build_user(data_dir, "small", 1_000)
        large = build_user(data_dir, "large", 100_000)
        print(f"built 1k + 100k messages in {time.perf_counter() - started:.1f} s")

        small_times, large_times = measure([small, large], args.appends)
        p50_small = statistics.median(small_times) * 1000
        p50_large = statistics.median(large_times) * 1000
        ratio = p50_large / p50_small
        print(f"append, user with   1,000 messages: p50 {p50_small:.2f} ms")
        print(f"append, user with 100,000 messages: p50 {p50_large:.2f} ms")
        print(f"ratio 100k / 1k: {ratio:.2f} (target <= {TARGET_RATIO})")
        print(
            f"100k: list {timed(large.list_conversations):.0f} ms (index warm), "
            f"search {timed(lambda: large.search('no such words')):.0f} ms"
        )

    result = {
        "bench": "store",
        "p50_ms_1k": round(p50_small, 3),
        "p50_ms_100k": round(p50_large, 3),
        "ratio": round(ratio, 3),
        "target": TARGET_RATIO,
        "ok": ratio <= TARGET_RATIO,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
