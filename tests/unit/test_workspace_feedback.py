"""Feedback through the Workspace, as the UI and the CLI give it: ratings with the exact
context, implicit signals from regenerate/edit/correct, choices only between replies to
one prompt, nothing from incognito chats."""

from __future__ import annotations

import asyncio
import random

import pytest

from chatapp.core.feedback.replies import NothingToPrefer
from chatapp.core.workspace import Workspace
from tests.unit.workspaces import workspace_for


async def settled(workspace: Workspace) -> None:
    """Background writes (implicit feedback) are done."""
    await asyncio.wait_for(workspace.background_done(), timeout=5)


async def test_a_rating_keeps_the_context_the_model_saw_and_the_latest_counts(
    tmp_path, scripted_server
) -> None:
    workspace = workspace_for(tmp_path, scripted_server.config())
    workspace.memory.remember("Loves spicy Sichuan food")
    session = workspace.new_session()
    turn = session.send("A spicy dinner idea?")
    await turn.wait()
    reply = turn.answer

    first = workspace.feedback.rate(session.id, reply.id, 1, ["accurate", "clear"], "nice")
    assert [t.content for t in first.context] == [m["content"] for m in turn.prompt.messages]
    assert "Sichuan" in first.context[-1].content  # the memory note the model saw
    workspace.feedback.rate(session.id, reply.id, -1, ["too short"])
    (rating,) = workspace.feedback.ratings(session.id).values()
    assert rating.thumb == -1 and rating.reasons == ("too short",)
    workspace.feedback.rate(session.id, reply.id, None)
    assert workspace.feedback.ratings(session.id) == {}
    await workspace.aclose(title_wait=0)


async def test_regenerate_is_logged_as_implicit_and_a_choice_only_among_one_prompt(
    tmp_path, scripted_server
) -> None:
    workspace = workspace_for(tmp_path, scripted_server.config())
    workspace.memory.remember("Loves spicy Sichuan food")
    session = workspace.new_session()
    first = session.send("A spicy dinner idea?")
    await first.wait()
    again = session.regenerate()
    await again.wait()
    await settled(workspace)
    (regenerated,) = workspace.feedback.log.events()
    assert regenerated.type == "regenerate" and regenerated.source == "implicit"
    assert [c.message_id for c in regenerated.candidates] == [first.answer.id, again.answer.id]

    without = session.regenerate(memory=False)
    await without.wait()
    await settled(workspace)  # its regenerate event is written in the background
    choice = workspace.feedback.prefer(session.id, again.answer.id)
    # The reply made without memory saw another prompt: it takes no part.
    assert {c.message_id for c in choice.candidates} == {first.answer.id, again.answer.id}
    assert choice.choice is not None and choice.choice.preferred == again.answer.id
    with pytest.raises(NothingToPrefer, match="different prompt"):
        workspace.feedback.prefer(session.id, without.answer.id)
    stats = workspace.feedback.log.stats()
    # One pair to learn from, held back until the user says yes to training.
    assert stats.dpo_pairs == 1 and stats.without_consent == stats.events == 3
    await workspace.aclose(title_wait=0)


async def test_a_correction_and_an_edit_are_recorded_from_the_core_events(
    tmp_path, scripted_server
) -> None:
    workspace = workspace_for(tmp_path, scripted_server.config())
    session = workspace.new_session()
    turn = session.send("What is the capital of Australia?")
    await turn.wait()
    corrected = session.correct(turn.answer.id, "Canberra.")
    edit = session.edit(session.thread[0].id, "What is the capital of Austria?")
    await edit.wait()
    await settled(workspace)
    kinds = {event.type: event for event in workspace.feedback.log.events()}
    correction = kinds["correction"]
    assert correction.correction is not None
    assert correction.correction.corrected_id == corrected.id
    assert correction.candidates[1].written_by == "user"
    assert kinds["edit"].source == "implicit"
    await workspace.aclose(title_wait=0)


async def test_an_incognito_chat_leaves_no_feedback(tmp_path, scripted_server) -> None:
    workspace = workspace_for(tmp_path, scripted_server.config())
    session = workspace.new_session(incognito=True)
    await session.send("hello").wait()
    await session.regenerate().wait()
    await settled(workspace)
    assert workspace.feedback.log.events() == []
    assert not (tmp_path / "users" / "alice" / "feedback").exists()
    await workspace.aclose(title_wait=0)


async def test_a_compare_choice_keeps_the_shown_order_and_each_template(
    tmp_path, scripted_server
) -> None:
    workspace = workspace_for(tmp_path, scripted_server.config())
    variants = [
        workspace.variant("今天天气很好。", template="translate-zh-en"),
        workspace.variant("今天天气很好。", template="tldr"),
    ]
    run = await workspace.practice(variants, rng=random.Random(1))
    await run.wait()
    run.choose("preferred", "B")
    workspace.record_practice_choice(run)
    (event,) = workspace.feedback.log.events()
    assert event.type == "pairwise" and event.choice is not None
    by_id = {c.message_id: c for c in event.candidates}
    assert [by_id[i].template.name for i in event.choice.shown_order] == [
        column.variant.template["name"] for column in run.columns
    ]
    assert by_id[event.choice.preferred].template.name == run.column("B").variant.template["name"]
    # Two different prompts: a choice between templates, not a training pair.
    assert event.context == ()
    record = workspace.feedback.log.record_for(run.column("B").variant.template["name"], None)
    assert record.wins == 1
    await workspace.aclose(title_wait=0)
