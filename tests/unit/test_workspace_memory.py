"""Memory through the Workspace, as the UI and the CLI use it: what goes into a prompt,
whose memories, suggestions that wait for a yes, incognito, regenerate without memory."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

from chatapp.core.events import Event, MemoryChanged, MemorySuggested
from chatapp.core.models import MemorySource
from tests.unit.workspaces import workspace_for


def files_of(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def prompt_text(turn) -> str:
    return "\n".join(m["content"] for m in turn.prompt.messages)


async def test_relevant_and_pinned_memories_go_into_the_prompt_and_are_recorded(
    tmp_path, scripted_server
) -> None:
    workspace = workspace_for(tmp_path, scripted_server.config())
    pinned = workspace.memory.remember("Call me Sam").memory
    workspace.memory.pin(pinned.id)
    spicy = workspace.memory.remember("Loves very spicy Sichuan food").memory
    workspace.memory.remember("Works as a nurse in Leeds")

    session = workspace.new_session()
    turn = session.send("Can you suggest some spicy food for dinner?")
    await turn.wait()
    system, *_, question = turn.prompt.messages
    assert "Call me Sam" in system["content"] and "not instructions" in system["content"]
    assert "Loves very spicy Sichuan food" in question["content"]
    assert "nurse" not in prompt_text(turn)  # shares nothing with the question
    assert question["content"].endswith("Can you suggest some spicy food for dinner?")
    assert turn.answer.memories_used == [pinned.id, spicy.id]
    # The stored question is the user's own words, without the recalled memories.
    assert session.thread[0].content == "Can you suggest some spicy food for dinner?"

    again = session.regenerate(memory=False)
    await again.wait()
    assert again.answer.memories_used == []
    assert "Sam" not in prompt_text(again) and "Sichuan" not in prompt_text(again)
    await workspace.aclose(title_wait=0)


async def test_a_memory_noted_once_stays_before_its_question_so_the_prefix_holds(
    tmp_path, scripted_server
) -> None:
    workspace = workspace_for(tmp_path, scripted_server.config())
    spicy = workspace.memory.remember("Loves very spicy Sichuan food").memory
    session = workspace.new_session()
    first = session.send("Suggest a spicy dinner")
    await first.wait()
    second = session.send("Something spicy for lunch too?")
    await second.wait()
    # Turn 2 starts with exactly what turn 1 sent: llama.cpp reuses that prefix.
    assert second.prompt.messages[: len(first.prompt.messages)] == first.prompt.messages
    asked = [m["content"] for m in second.prompt.messages if m["role"] == "user"]
    assert sum("Sichuan" in question for question in asked) == 1
    assert second.prompt.messages[-1]["content"] == "Something spicy for lunch too?"
    assert second.answer.memories_used == [spicy.id]
    # What feedback will record as the context equals what the backend was sent.
    from chatapp.core.context import context_seen

    assert context_seen(session.thread) == second.prompt.messages

    # A forgotten memory leaves the earlier note too: forget means forget.
    workspace.memory.forget([spicy.id])
    third = session.send("And spicy snacks?")
    await third.wait()
    assert not any("Sichuan" in m["content"] for m in third.prompt.messages if m["role"] == "user")
    reopened = workspace.open_session(session.id)
    assert context_seen(reopened.thread) == third.prompt.messages
    await workspace.aclose(title_wait=0)


async def test_a_chinese_question_recalls_a_chinese_memory(tmp_path, scripted_server) -> None:
    workspace = workspace_for(tmp_path, scripted_server.config())
    workspace.memory.remember("我对花生过敏")
    workspace.memory.remember("住在上海浦东")
    turn = workspace.new_session().send("晚饭可以吃花生酱面条吗？")
    await turn.wait()
    assert "我对花生过敏" in prompt_text(turn) and "浦东" not in prompt_text(turn)
    await workspace.aclose(title_wait=0)


async def test_another_users_memories_never_reach_the_prompt(tmp_path, scripted_server) -> None:
    model = scripted_server.config()
    alice = workspace_for(tmp_path, model, "alice")
    alice.memory.remember("Alice's bank is Northwind and she hates olives")
    bob = workspace_for(tmp_path, model, "bob")
    turn = bob.new_session().send("Which bank do I use, and do I like olives?")
    await turn.wait()
    assert "Northwind" not in prompt_text(turn) and turn.answer.memories_used == []
    assert bob.memory.book.list() == []
    await alice.aclose(title_wait=0)
    await bob.aclose(title_wait=0)


async def test_a_suggestion_is_stored_only_after_the_user_accepts_it(
    tmp_path, scripted_server
) -> None:
    workspace = workspace_for(tmp_path, scripted_server.config())
    seen: list[Event] = []
    workspace.events.subscribe(seen.append, MemorySuggested, MemoryChanged)
    session = workspace.new_session()
    await session.send("I'm vegetarian, by the way. What should I cook tonight?").wait()
    for _ in range(100):
        if seen:
            break
        await asyncio.sleep(0.02)
    (suggested,) = seen
    assert isinstance(suggested, MemorySuggested)
    assert suggested.message_id == session.thread[0].id
    (text, slot), *_ = suggested.suggestions
    assert workspace.memory.book.list() == []  # nothing without a yes

    change = workspace.memory.accept(text, slot, suggested.message_id, session.id)
    (kept,) = workspace.memory.book.list()
    assert kept.source == MemorySource.SUGGESTED and kept.source_message_id == session.thread[0].id
    assert change.kind == "added" and isinstance(seen[-1], MemoryChanged)
    # The assistant's words are never mined.
    await asyncio.sleep(0.1)
    assert not [e for e in seen[1:] if isinstance(e, MemorySuggested)]
    await workspace.aclose(title_wait=0)


async def test_a_capable_model_is_asked_for_facts_after_its_reply_and_only_then(
    tmp_path, scripted_server
) -> None:
    message = "I'm a vegetarian who plays the cello in an orchestra."
    model_says = '[{"fact": "Plays the cello in an orchestra"}, {"fact": "Lives in Oslo"}]'
    # The scripted server answers by the last user message: the extractor's is the message.
    config = scripted_server.config({message: [model_says]})
    workspace = workspace_for(tmp_path, replace(config, extract_memories=True))
    seen: list[MemorySuggested] = []
    workspace.events.subscribe(seen.append, MemorySuggested)
    session = workspace.new_session()
    await session.send(message).wait()
    for _ in range(200):
        if len(seen) == 2:
            break
        await asyncio.sleep(0.02)
    by_rules, by_model = seen
    assert [text for text, _ in by_rules.suggestions] == ["Is vegetarian"]
    # The model's made-up "Lives in Oslo" is not in the message: never proposed.
    assert [text for text, _ in by_model.suggestions] == ["Plays the cello in an orchestra"]
    # Requests by size: the reply (512 tokens), then the extraction (256), the title.
    script = scripted_server.script(config)
    sizes = [max_tokens for _, max_tokens in script.arrivals]
    assert sizes.index(256) > sizes.index(config.max_tokens)
    # A regenerate does not ask the model again about the same message.
    await session.regenerate().wait()
    await asyncio.sleep(0.2)
    assert [max_tokens for _, max_tokens in script.arrivals].count(256) == 1
    await workspace.aclose(title_wait=0)


async def test_incognito_neither_reads_nor_writes_memory_nor_keeps_history(
    tmp_path, scripted_server
) -> None:
    workspace = workspace_for(tmp_path, scripted_server.config(), auto=True)
    workspace.memory.remember("Lives in Berlin")
    before = files_of(tmp_path)
    session = workspace.new_session(incognito=True)
    turn = session.send("I live in Paris now. Where do I live?")
    await turn.wait()
    await asyncio.sleep(0.2)
    assert "Berlin" not in prompt_text(turn)
    assert files_of(tmp_path) == before
    await workspace.aclose(title_wait=0)


async def test_memory_off_recalls_nothing(tmp_path, scripted_server) -> None:
    workspace = workspace_for(tmp_path, scripted_server.config())
    workspace.memory.remember("Loves spicy food")
    workspace.set_memory_enabled(False)
    turn = workspace.new_session().send("Any spicy food ideas?")
    await turn.wait()
    assert "Loves spicy" not in prompt_text(turn)
    workspace.set_memory_enabled(True)
    turn = workspace.new_session().send("Any spicy food ideas?")
    await turn.wait()
    assert "Loves spicy" in prompt_text(turn)
    await workspace.aclose(title_wait=0)
