"""FeedbackRepo over real TinyDB files: one file per month, consent, the export key."""

from __future__ import annotations

import stat
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from chatapp.core.feedback.records import (
    Candidate,
    EventType,
    FeedbackEvent,
    Rating,
    Source,
    Turn,
)
from chatapp.store.errors import CorruptFile, StoreError
from chatapp.store.feedback import FeedbackRepo, UnreadableEvents, export_key
from chatapp.store.users import UserDir
from tests.unit.store.conftest import USER

MAY = datetime(2026, 5, 10, tzinfo=UTC).timestamp()
JUNE = datetime(2026, 6, 2, tzinfo=UTC).timestamp()
JULY = datetime(2026, 7, 20, tzinfo=UTC).timestamp()


@pytest.fixture
def folder(data_dir: Path) -> Path:
    return UserDir(data_dir, USER).feedback


@pytest.fixture
def problems() -> list[StoreError]:
    return []


@pytest.fixture
def repo(folder: Path, problems: list[StoreError]) -> FeedbackRepo:
    return FeedbackRepo(folder, on_problem=problems.append)


def thumb_up(ts: float, message_id: str = "m1", text: str = "Paris.") -> FeedbackEvent:
    return FeedbackEvent(
        user=USER,
        conversation_id="c1",
        type=EventType.RATING,
        source=Source.EXPLICIT,
        context=(Turn("user", "Capital of France?"),),
        candidates=(Candidate(message_id, text, "smollm2"),),
        rating=Rating(1, ("accurate",)),
        ts=ts,
    )


def test_events_come_back_after_a_restart_in_order(repo: FeedbackRepo, folder: Path) -> None:
    later, earlier = thumb_up(MAY + 60, "m2"), thumb_up(MAY, "m1")
    repo.append(later)
    repo.append(earlier)

    again = FeedbackRepo(folder)

    assert again.events() == [earlier, later]
    assert again.events(newest_first=True) == [later, earlier]


def test_each_month_has_its_own_file(repo: FeedbackRepo, folder: Path) -> None:
    for ts in (MAY, JUNE, JUNE + 1, JULY):
        repo.append(thumb_up(ts))

    assert repo.months() == ["2026-05", "2026-06", "2026-07"]
    june = orjson.loads((folder / "2026-06.json").read_bytes())
    assert len(june["events"]) == 2


def test_reading_since_a_date_opens_only_the_months_from_then(
    repo: FeedbackRepo, folder: Path, problems: list[StoreError]
) -> None:
    for ts in (MAY, JUNE, JULY):
        repo.append(thumb_up(ts))
    (folder / "2026-05.json").write_bytes(b"{not json")  # would be reported if opened

    assert [event.ts for event in repo.events(since=JUNE + 1)] == [JULY]
    assert problems == []


def test_a_corrupt_month_is_moved_aside_and_the_others_still_load(
    repo: FeedbackRepo, folder: Path, problems: list[StoreError]
) -> None:
    kept = thumb_up(JUNE)
    repo.append(thumb_up(MAY))
    repo.append(kept)
    (folder / "2026-05.json").write_bytes(b'{"events": {"1": {"schema": "chatapp.feed')

    assert repo.events() == [kept]

    [problem] = problems
    assert isinstance(problem, CorruptFile) and problem.moved_to is not None
    assert problem.moved_to.read_bytes().startswith(b'{"events"')
    assert not (folder / "2026-05.json").exists()


def test_a_record_it_cannot_read_is_skipped_reported_and_kept(
    repo: FeedbackRepo, folder: Path, problems: list[StoreError]
) -> None:
    future = {**thumb_up(MAY).to_dict(), "schema": "chatapp.feedback/2"}
    folder.mkdir(parents=True)
    (folder / "2026-05.json").write_bytes(orjson.dumps({"events": {"1": future}}))
    repo.append(thumb_up(MAY + 1))

    assert len(repo.events()) == 1
    assert isinstance(problems[0], UnreadableEvents)
    assert "chatapp.feedback/2" in str(problems[0])
    stored = orjson.loads((folder / "2026-05.json").read_bytes())["events"]
    assert future in stored.values()


def test_consent_is_none_until_asked_then_the_last_answer(repo: FeedbackRepo, folder: Path) -> None:
    assert repo.consent() is None

    repo.set_consent(True, ts=MAY)
    repo.set_consent(False, ts=JUNE)

    assert FeedbackRepo(folder).consent() is False
    assert FeedbackRepo(folder).consent_record() == (False, JUNE)


def test_files_are_private(repo: FeedbackRepo, folder: Path) -> None:
    repo.append(thumb_up(MAY))
    repo.set_consent(True)
    export_key(folder / "export.key")

    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(folder.parent.stat().st_mode) == 0o700
    for name in ("2026-05.json", "consent.json", "export.key"):
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600, name


def test_the_export_key_is_made_once(folder: Path) -> None:
    key = export_key(folder / "export.key")

    assert len(key) == 32
    assert export_key(folder / "export.key") == key


def test_a_damaged_export_key_is_not_silently_replaced(folder: Path) -> None:
    export_key(folder / "export.key")
    (folder / "export.key").write_text("short\n")

    with pytest.raises(StoreError, match="damaged; delete it"):
        export_key(folder / "export.key")


def test_two_repos_on_one_folder_never_lose_each_others_events(folder: Path) -> None:
    first, second = FeedbackRepo(folder), FeedbackRepo(folder)
    first.append(thumb_up(MAY, "m1"))
    second.append(thumb_up(MAY + 1, "m2"))
    first.append(thumb_up(MAY + 2, "m3"))

    assert [event.message_ids[0] for event in second.events()] == ["m1", "m2", "m3"]


def test_one_export_key_can_serve_a_whole_data_dir(data_dir: Path) -> None:
    path = data_dir / "feedback" / "export.key"

    key = export_key(path)

    assert export_key(path) == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
