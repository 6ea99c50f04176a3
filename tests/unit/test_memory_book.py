"""MemoryBook: what a user does with the facts they keep, over real TinyDB files."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from chatapp.core.memory.book import (
    InvalidMemoryFile,
    MemoryBook,
    MemoryRefused,
    NothingToUndo,
)
from chatapp.core.memory.slots import SLOTS, Slot, normalise, secret_reason
from chatapp.core.models import MemorySource
from chatapp.store.errors import CorruptFile, MemoryNotFound
from chatapp.store.memory import MemoryRepo
from chatapp.store.users import UserDir


def open_book(data_dir: Path, user: str = "tester") -> MemoryBook:
    return MemoryBook(MemoryRepo(UserDir(data_dir, user)), user)


@pytest.fixture
def book(data_dir: Path) -> MemoryBook:
    return open_book(data_dir)


def texts(book: MemoryBook) -> list[str]:
    return [memory.text for memory in book.list()]


# -- adding --------------------------------------------------------------------------------


def test_a_fact_is_kept_on_one_line_with_where_it_came_from(book: MemoryBook) -> None:
    change = book.add(
        "  I'm vegetarian\n and I cook  ",
        source=MemorySource.SUGGESTED,
        source_message_id="m1",
        source_conversation_id="c1",
    )

    assert change.kind == "added" and change.previous_text is None
    [stored] = book.list()
    assert stored == change.memory
    assert stored.text == "I'm vegetarian and I cook"
    assert (stored.source, stored.source_message_id, stored.source_conversation_id) == (
        MemorySource.SUGGESTED,
        "m1",
        "c1",
    )
    assert stored.user == "tester" and stored.created == stored.updated


@pytest.mark.parametrize("text", ["", "   ", "\n\t", "\u200b\u200b"])
def test_nothing_to_remember_is_refused(book: MemoryBook, text: str) -> None:
    with pytest.raises(MemoryRefused, match="^nothing to remember$"):
        book.add(text)
    assert book.list() == []


def test_an_unknown_slot_and_an_overlong_fact_are_refused(book: MemoryBook) -> None:
    with pytest.raises(MemoryRefused, match="not saved: unknown slot 'shoe_size'"):
        book.add("I wear 42", slot="shoe_size")
    with pytest.raises(MemoryRefused, match="one short fact"):
        book.add("word " * 500)
    assert book.list() == []


def test_slots_cover_what_the_extractor_looks_for() -> None:
    wanted = {"name", "preferred_name", "location", "language", "employer", "job", "diet"}
    assert wanted | {"pronouns", "timezone"} <= SLOTS
    assert Slot.DIET == "diet"


# -- slots end contradictions --------------------------------------------------------------


def test_a_new_value_for_a_slot_replaces_the_old_which_stays_in_history(
    book: MemoryBook,
) -> None:
    first = book.add("I live in Paris", slot="location", source_message_id="m1").memory

    change = book.add(
        "I live in Berlin", slot="location", source=MemorySource.SUGGESTED, source_message_id="m2"
    )

    assert change.kind == "replaced"
    assert change.previous_text == "I live in Paris"
    assert change.memory.id == first.id
    [stored] = book.list()
    assert stored.text == "I live in Berlin"
    assert (stored.source, stored.source_message_id) == (MemorySource.SUGGESTED, "m2")
    assert stored.updated > first.updated and stored.created == first.created
    assert stored.history == [
        {
            "text": "I live in Paris",
            "updated": first.updated,
            "source": "explicit",
            "source_message_id": "m1",
            "source_conversation_id": None,
        }
    ]


def test_undo_restores_the_previous_value_of_a_slot_then_removes_the_memory(
    book: MemoryBook,
) -> None:
    first = book.add("I live in Paris", slot="location", source_message_id="m1").memory
    book.add("I live in Berlin", slot="location", source_message_id="m2")

    restored = book.undo(first.id)

    assert restored is not None
    assert book.list() == [restored]
    assert (restored.text, restored.updated, restored.source_message_id) == (
        "I live in Paris",
        first.updated,
        "m1",
    )
    assert restored.history == []

    assert book.undo(first.id) is None
    assert book.list() == []


def test_the_same_value_for_a_slot_is_a_duplicate(book: MemoryBook) -> None:
    first = book.add("I am vegan", slot="diet").memory

    change = book.add("i am VEGAN.", slot="diet")

    assert change.kind == "duplicate" and change.memory == first
    assert book.get(first.id).history == []


# -- free-form facts are kept once ---------------------------------------------------------


@pytest.mark.parametrize(
    ("stored", "again"),
    [
        ("I'm vegetarian.", "i’m   VEGETARIAN"),
        ("I work in Go, mostly.", "I work in Go mostly"),
        ("I love Python", "Ｉ ｌｏｖｅ Ｐｙｔｈｏｎ！"),
        ("我是素食者。", "我是素食者"),
        ("我叫小王，在上海工作。", "我叫小王 在上海工作！"),
        ("我喜欢“三体”（小说）", "我喜欢三体小说"),
        ("我 喜欢 Python", "我喜欢python"),
    ],
)
def test_a_fact_already_kept_is_not_stored_twice(book: MemoryBook, stored: str, again: str) -> None:
    first = book.add(stored).memory

    change = book.add(again)

    assert change.kind == "duplicate"
    assert change.memory == first
    assert texts(book) == [stored]


def test_different_facts_are_not_duplicates(book: MemoryBook) -> None:
    for text in ["I like cats", "I like cars", "我喜欢猫", "我喜欢狗", "I like C++"]:
        assert book.add(text).kind == "added"
    assert len(book.list()) == 5


def test_normalise_folds_case_width_spaces_and_punctuation() -> None:
    assert normalise("  Hello,   WORLD!! ") == "hello world"
    assert normalise("ＡＢＣ１２３") == "abc123"
    assert normalise("我住在上海，喜欢猫。") == "我住在上海喜欢猫"
    assert normalise("《三体》、「红楼梦」；‘书’：（好）") == "三体红楼梦书好"


# -- secrets are refused -------------------------------------------------------------------


SECRETS = {
    "my OpenAI key is sk-proj-abc123DEF456ghi789JKL012mno": "an API key",
    "sk-ant-api03-AbCdEf1234567890abcdefGHIJ": "an API key",
    "ghp_aBcD1234567890EfGhIjKlMnOpQrStUvWxYz12": "an API key",
    "aws AKIAIOSFODNN7EXAMPLE": "an API key",
    "slack xoxb-123456789012-abcdefghijkl": "an API key",
    "hf_abcdefghijklmnopqrstuvwxyz0123456789": "an API key",
    "api key: 12345678abcdefgh": "an API key",
    "ｓｋ－ｐｒｏｊ－ａｂｃ１２３ＤＥＦ４５６ｇｈｉ７８９": "an API key",
    "deadbeefdeadbeefdeadbeefdeadbeef01": "an access token",
    "token aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dE3fG": "an access token",
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w": (
        "an access token"
    ),
    "password: hunter2": "a password",
    "my password is swordfish": "a password",
    "My wifi password is 'Tr0ub4dor&3'": "a password",
    "pin code is 4321": "a password",
    "密码是123456": "a password",
    "我的邮箱密码：abc": "a password",
    "my card is 4111 1111 1111 1111": "a card number",
    "5555-5555-5555-4444": "a card number",
    "378282246310005": "a card number",
    "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEA\n-----END": "a private key",
    "-----BEGIN PGP PRIVATE KEY BLOCK-----": "a private key",
}

ORDINARY_FACTS = [
    "I was born in 1990",
    "my phone is an iPhone 15",
    "我住在上海",
    "我的生日是1990年5月1日",
    "my name is Sam",
    "I use sk-learn-and-pandas-for-everything-at-work",
    "I forgot my password",
    "my wifi password is on the fridge",
    "1Password is my favourite app",
    "我忘了wifi密码是什么",
    "my number is +86 138 1234 5678",
    "call me at 415-555-0100",
    "my student id is 20231234567",
    "my card ends in 4242",
    "ISBN 978-0-306-40615-7",
    "ThisIsMyVeryLongCamelCaseIdentifierName2024",
    "my projects live in /Users/Sam/Documents/Projects2024/chatapp/src/main",
    "api key management is my job",
    "I like C# and C++",
    "my flight is CA1234 on 2024-05-01",
    "https://github.com/sam/chatapp is my repo",
]


@pytest.mark.parametrize(("text", "kind"), SECRETS.items(), ids=range(len(SECRETS)))
def test_text_that_looks_like_a_secret_is_refused_with_the_reason(
    book: MemoryBook, text: str, kind: str
) -> None:
    assert secret_reason(text) == f"looks like {kind}"
    with pytest.raises(MemoryRefused) as caught:
        book.add(text)
    assert str(caught.value) == f"not saved: it looks like {kind}"
    assert book.list() == []


def test_editing_a_memory_into_a_secret_is_refused(book: MemoryBook) -> None:
    memory = book.add("my email account").memory
    with pytest.raises(MemoryRefused, match="not saved: it looks like a password"):
        book.edit(memory.id, "my email password: tr0ub4dor")
    assert texts(book) == ["my email account"]


@pytest.mark.parametrize("text", ORDINARY_FACTS)
def test_ordinary_facts_are_kept(book: MemoryBook, text: str) -> None:
    assert secret_reason(text) is None
    assert book.add(text).kind == "added"


# -- edit, pin, delete, undo ---------------------------------------------------------------


def test_an_edit_keeps_the_old_text_in_history_and_undo_restores_it(book: MemoryBook) -> None:
    memory = book.add("I work at Acme", source_conversation_id="c1").memory

    change = book.edit(memory.id, "I work at Initech")

    assert (change.kind, change.previous_text) == ("replaced", "I work at Acme")
    edited = book.get(memory.id)
    assert edited.text == "I work at Initech"
    assert edited.source_conversation_id == "c1"
    assert [version["text"] for version in edited.history] == ["I work at Acme"]
    assert book.undo(memory.id) == memory


def test_editing_into_a_fact_already_kept_changes_nothing(book: MemoryBook) -> None:
    cats = book.add("I like cats").memory
    dogs = book.add("I like dogs").memory

    change = book.edit(dogs.id, "i like CATS!")

    assert change.kind == "duplicate" and change.memory == cats
    assert texts(book) == ["I like cats", "I like dogs"]


def test_pin_delete_and_clear(book: MemoryBook) -> None:
    first = book.add("one").memory
    second = book.add("two").memory
    third = book.add("three").memory

    assert book.pin(second.id).pinned
    assert [m.pinned for m in book.list()] == [False, True, False]
    assert book.delete([first.id, "gone already"]) == [first]
    assert texts(book) == ["two", "three"]
    assert [m.id for m in book.clear()] == [second.id, third.id]
    assert book.list() == []
    assert book.delete([first.id]) == []


def test_undo_last_walks_back_every_kind_of_change(book: MemoryBook) -> None:
    diet = book.add("I am vegetarian", slot="diet").memory
    book.add("I am vegan", slot="diet")
    cats = book.add("I like cats").memory
    book.edit(cats.id, "I love cats")
    book.pin(cats.id)
    book.delete([diet.id])
    book.add("I live in Paris")
    before_clear = book.export()
    book.clear()

    assert book.undo_last() == "undone: deleting 2 memories"
    assert book.export() == before_clear
    assert book.undo_last() == "undone: remembering “I live in Paris”"
    assert book.undo_last() == "undone: deleting “I am vegan”"
    assert book.get(diet.id).text == "I am vegan"
    assert book.undo_last() == "undone: pinning “I love cats”"
    assert not book.get(cats.id).pinned
    assert book.undo_last() == "undone: editing “I like cats”"
    assert book.get(cats.id).text == "I like cats"
    assert book.undo_last() == "undone: remembering “I like cats”"
    assert book.undo_last() == "undone: replacing “I am vegetarian” with “I am vegan”"
    assert book.list() == [diet]
    assert book.undo_last() == "undone: remembering “I am vegetarian”"
    assert book.list() == []
    with pytest.raises(NothingToUndo, match="^nothing to undo$"):
        book.undo_last()


def test_undo_last_can_undo_an_undo(book: MemoryBook) -> None:
    memory = book.add("I live in Paris", slot="location").memory
    book.add("I live in Rome", slot="location")
    book.undo(memory.id)

    book.undo_last()

    assert texts(book) == ["I live in Rome"]


def test_a_duplicate_is_not_a_change_to_undo(book: MemoryBook) -> None:
    book.add("I like tea")
    book.add("I like tea.")

    book.undo_last()

    assert book.list() == []


def test_an_unknown_id_is_a_one_line_error(book: MemoryBook) -> None:
    for action in (
        lambda: book.edit("nope", "text"),
        lambda: book.pin("nope"),
        lambda: book.undo("nope"),
        lambda: book.get("nope"),
    ):
        with pytest.raises(MemoryNotFound, match="^memory nope not found$"):
            action()


# -- finding -------------------------------------------------------------------------------


def test_search_ignores_case_and_width_and_finds_chinese(book: MemoryBook) -> None:
    book.add("I live in Shanghai")
    book.add("我住在上海")
    book.add("我喜欢ＰＹＴＨＯＮ")

    assert [m.text for m in book.list("SHANGHAI")] == ["I live in Shanghai"]
    assert [m.text for m in book.list("上海")] == ["我住在上海"]
    assert [m.text for m in book.list("python")] == ["我喜欢ＰＹＴＨＯＮ"]
    assert len(book.list("  ")) == 3


def test_memories_from_a_conversation(book: MemoryBook) -> None:
    mine = book.add("I am Sam", source_conversation_id="c1").memory
    book.add("I like tea", source_conversation_id="c2")
    book.add("I like jazz")

    assert book.from_conversation("c1") == [mine]


# -- users, files, export and import -------------------------------------------------------


def test_two_users_books_never_see_each_others_memories(data_dir: Path) -> None:
    sam, kim = open_book(data_dir, "sam"), open_book(data_dir, "kim")
    sam.add("I am vegetarian")
    sam.add("I live in Paris", slot="location")
    kim.add("I live in Shanghai", slot="location")

    assert texts(sam) == ["I am vegetarian", "I live in Paris"]
    assert texts(kim) == ["I live in Shanghai"]
    assert kim.list("vegetarian") == [] and kim.list("Paris") == []
    assert b"Paris" not in kim.export()
    with pytest.raises(ValueError):
        MemoryBook(MemoryRepo(UserDir(data_dir, "sam")), "kim")


def test_a_corrupt_memory_file_is_moved_aside_and_the_book_keeps_working(
    book: MemoryBook, data_dir: Path
) -> None:
    book.add("I live in Paris")
    path = data_dir / "users" / "tester" / "memory.json"
    path.write_bytes(b'{"memories": {"1": {"text": "I li')

    with pytest.raises(CorruptFile) as caught:
        book.list()

    assert "\n" not in str(caught.value)
    assert "memory.json is corrupt" in str(caught.value)
    assert "moved aside to memory.json.corrupt-" in str(caught.value)
    assert len(list(path.parent.glob("memory.json.corrupt-*"))) == 1
    assert book.list() == []
    assert book.add("I live in Paris").kind == "added"


def test_export_then_import_into_an_empty_book_gives_the_same_bytes(
    book: MemoryBook, tmp_path: Path
) -> None:
    first = book.add("I live in Paris", slot="location", source_message_id="m1").memory
    book.add("I live in 北京", slot="location", source=MemorySource.SUGGESTED)
    book.add("我是素食者", source_conversation_id="c1")
    book.pin(first.id)
    exported = book.export()

    fresh = open_book(tmp_path / "elsewhere")
    assert fresh.import_(exported) == 2

    assert fresh.export() == exported
    assert fresh.list() == book.list()
    document = orjson.loads(exported)
    assert document["format"] == "chatapp.memory/1"
    assert set(document["memories"][0]) == {
        "id",
        "user",
        "text",
        "slot",
        "source",
        "source_message_id",
        "source_conversation_id",
        "created",
        "updated",
        "pinned",
        "history",
    }


def test_import_replaces_by_id_fills_slots_skips_known_facts_and_keeps_the_rest(
    book: MemoryBook, data_dir: Path
) -> None:
    other = open_book(data_dir, "other")
    shared = other.add("I like tea").memory
    other.add("I live in Rome", slot="location")
    other.add("I play chess")
    other.add("I LIKE JAZZ")
    exported = other.export()

    book.add("I live in Paris", slot="location")
    book.add("I like jazz")
    kept = book.add("I have a cat").memory
    book.import_(orjson.dumps({"format": "chatapp.memory/1", "memories": [shared.to_dict()]}))
    book.edit(shared.id, "I like green tea")

    assert book.import_(exported) == 3

    assert texts(book) == [
        "I like tea",
        "I live in Rome",
        "I play chess",
        "I like jazz",
        "I have a cat",
    ]
    assert {m.user for m in book.list()} == {"tester"}
    assert book.get(kept.id) == kept
    assert book.undo_last() == "undone: importing 3 memories"
    assert "I like green tea" in texts(book) and "I live in Paris" in texts(book)


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"{oops", "invalid JSON"),
        (b"[]", '"format": "chatapp.memory/1"'),
        (b'{"format": "chatapp.memory/1", "memories": [{"id": "x"}]}', "memory 1 has no text"),
        (
            b'{"format": "chatapp.memory/1", "memories": [{"text": "a", "slot": "shoe"}]}',
            "memory 1 has an unknown slot 'shoe'",
        ),
        (
            b'{"format": "chatapp.memory/1", "memories": '
            b'[{"text": "a"}, {"text": "b", "pinned": 0}]}',
            "memory 2 has an invalid pinned",
        ),
    ],
)
def test_importing_what_is_not_an_export_is_a_one_line_error_and_changes_nothing(
    book: MemoryBook, data: bytes, problem: str
) -> None:
    book.add("I like tea")
    with pytest.raises(InvalidMemoryFile) as caught:
        book.import_(data)
    assert str(caught.value).startswith("not a chatapp memory export: ")
    assert problem in str(caught.value) and "\n" not in str(caught.value)
    assert texts(book) == ["I like tea"]


def test_importing_a_secret_is_refused(book: MemoryBook) -> None:
    data = orjson.dumps(
        {"format": "chatapp.memory/1", "memories": [{"text": "ok"}, {"text": "password: x1"}]}
    )
    with pytest.raises(MemoryRefused, match="^not imported: memory 2 looks like a password$"):
        book.import_(data)
    assert book.list() == []
