"""Feedback about the replies of conversations, as the UI and the CLI give it.

ReplyFeedback turns "thumbs up on message X" into a FeedbackEvent with the context the
model saw for X (rebuilt exactly by context.context_seen), and listens to the core's
events for the implicit signals: a regenerate (not a preference), an edited question, a
corrected reply. A choice on the compare screen is recorded here too. Every write runs
off the event loop: callers run the explicit ones in a thread, and the listeners hand
theirs to `background`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from chatapp.core.context import context_seen
from chatapp.core.errors import ChatappError
from chatapp.core.events import (
    AssistantReplyEdited,
    Event,
    Regenerated,
    ReplyFinished,
    UserMessageEdited,
)
from chatapp.core.feedback.log import FeedbackLog
from chatapp.core.feedback.records import Author, Candidate, FeedbackEvent, Rating, TemplateRef
from chatapp.core.models import Message, MessageTree, Role
from chatapp.core.models import new_id as make_id

if TYPE_CHECKING:
    from chatapp.core.backends.base import ChatMessage
    from chatapp.core.practice import PracticeRun

# The messages of a conversation by id (an open session's, else read from disk).
TreeOf = Callable[[str], MessageTree]
Background = Callable[[Callable[[], object]], None]


class NotAReply(ChatappError):
    def __init__(self) -> None:
        super().__init__("only the assistant's replies can be rated or chosen")


class NothingToPrefer(ChatappError):
    def __init__(self, why: str) -> None:
        super().__init__(f"nothing to choose between: {why}")


class ReplyFeedback:
    def __init__(self, log: FeedbackLog, tree_of: TreeOf, *, background: Background) -> None:
        self.log = log
        self._tree_of = tree_of
        self._background = background
        # A regenerated reply -> the one it replaced, until the new one has finished.
        self._replacing: dict[str, str] = {}

    # -- what the user says ------------------------------------------------------------------

    def rate(
        self,
        conversation_id: str,
        message_id: str,
        thumb: int | None,
        reasons: Iterable[str] = (),
        comment: str = "",
    ) -> FeedbackEvent:
        """Thumb up (+1), down (-1), or None to take the rating back; the latest counts."""
        tree = self._tree_of(conversation_id)
        reply = _reply(tree, message_id)
        return self.log.rate(
            candidate(tree, reply),
            thumb,
            seen(tree, reply),
            conversation_id=conversation_id,
            reasons=reasons,
            comment=comment,
        )

    def prefer(
        self, conversation_id: str, message_id: str, *, tie: bool = False, both_bad: bool = False
    ) -> FeedbackEvent:
        """This reply over its siblings (or a tie, or all bad): only siblings made from
        exactly the same prompt take part, so a pair never mixes two contexts."""
        tree = self._tree_of(conversation_id)
        reply = _reply(tree, message_id)
        context = seen(tree, reply)
        others = [m for m in tree.siblings(reply.id) if m.id != reply.id and not m.incomplete]
        same = [m for m in others if seen(tree, m) == context]
        if not others:
            raise NothingToPrefer("this reply has no alternatives (regenerate to make one)")
        if not same:
            raise NothingToPrefer("the other replies were made from a different prompt")
        replies = sorted([reply, *same], key=lambda m: m.created)
        return self.log.prefer(
            [candidate(tree, m) for m in replies],
            None if tie or both_bad else reply.id,
            context,
            conversation_id=conversation_id,
            tie=tie,
            both_bad=both_bad,
        )

    def practice_choice(self, run: PracticeRun) -> FeedbackEvent:
        """The choice made on the compare screen, with the columns in the order shown.
        Variants that sent different prompts share no context: the event keeps the
        choice (for each template's record) but gives no training pair."""
        choice = run.choice
        if choice is None:
            raise NothingToPrefer("no choice was made")
        ids = {column.letter: make_id() for column in run.columns}
        candidates = [
            Candidate(
                ids[column.letter],
                column.shown.text,
                column.variant.model,
                column.variant.params.to_dict(),
                _template_ref(column.variant.template),
            )
            for column in run.columns
        ]
        prompts = [column.variant.messages for column in run.columns]
        context = prompts[0] if all(prompt == prompts[0] for prompt in prompts) else []
        return self.log.prefer(
            candidates,
            ids[choice.letter] if choice.letter is not None else None,
            context,
            conversation_id=f"practice-{make_id()}",
            shown_order=[ids[letter] for letter in choice.shown_order],
            tie=choice.kind == "tie",
            both_bad=choice.kind == "both_bad",
        )

    def ratings(self, conversation_id: str) -> dict[str, Rating]:
        """The latest rating of each rated reply of a conversation (none taken back)."""
        latest = self.log.latest_ratings()
        return {
            message_id: event.rating
            for message_id, event in latest.items()
            if event.conversation_id == conversation_id
            and event.rating is not None
            and event.rating.thumb is not None
        }

    # -- what the core announces ---------------------------------------------------------------

    def heard(self, event: Event) -> None:
        """A regenerate, a reply's end, an edit or a correction happened in a
        conversation whose feedback is kept (the Workspace's FEEDBACK_EVENTS)."""
        if isinstance(event, Regenerated) and event.old_id is not None:
            self._replacing[event.new_id] = event.old_id
        elif isinstance(event, ReplyFinished) and event.message_id in self._replacing:
            old, new = self._replacing.pop(event.message_id), event.message_id
            self._background(lambda: self._regenerated(event.conversation_id, old, new))
        elif isinstance(event, UserMessageEdited):
            self._background(lambda: self._edited(event))
        elif isinstance(event, AssistantReplyEdited):
            self._background(lambda: self._corrected(event))

    def _regenerated(self, conversation_id: str, old_id: str, new_id: str) -> None:
        tree = self._tree_of(conversation_id)
        old, new = tree.get(old_id), tree.get(new_id)
        self.log.regenerated(
            candidate(tree, old),
            seen(tree, new),
            conversation_id=conversation_id,
            new=candidate(tree, new),
        )

    def _edited(self, event: UserMessageEdited) -> None:
        tree = self._tree_of(event.conversation_id)
        original, edited = tree.get(event.original_id), tree.get(event.new_id)
        before = tree.path_to(original.parent_id)
        context = seen(tree, before[-1]) + [_as_chat(before[-1])] if before else []
        self.log.edited(
            Candidate.from_message(original, written_by=Author.USER),
            Candidate.from_message(edited, written_by=Author.USER),
            context,
            conversation_id=event.conversation_id,
        )

    def _corrected(self, event: AssistantReplyEdited) -> None:
        tree = self._tree_of(event.conversation_id)
        original, corrected = tree.get(event.original_id), tree.get(event.new_id)
        self.log.corrected(
            candidate(tree, original),
            candidate(tree, corrected),
            seen(tree, original),
            conversation_id=event.conversation_id,
        )


def seen(tree: MessageTree, reply: Message) -> list[ChatMessage]:
    """The messages the model saw for reply."""
    return context_seen(tree.path_to(reply.id))


def candidate(tree: MessageTree, reply: Message) -> Candidate:
    """A reply as feedback records it: with the template its question was made from."""
    parent = reply.parent_id
    template = tree.get(parent).template if parent is not None and parent in tree else None
    author = Author.USER if reply.written_by == "user" else Author.MODEL
    return Candidate.from_message(reply, template=_template_ref(template), written_by=author)


def _template_ref(template: dict[str, object] | None) -> TemplateRef | None:
    if not template or not isinstance(template.get("name"), str):
        return None
    version = template.get("version")
    return TemplateRef(str(template["name"]), version if isinstance(version, int) else None)


def _reply(tree: MessageTree, message_id: str) -> Message:
    from chatapp.core.errors import UnknownMessage

    if message_id not in tree:
        raise UnknownMessage(message_id)
    message = tree.get(message_id)
    if message.role != Role.ASSISTANT:
        raise NotAReply()
    return message


def _as_chat(message: Message) -> ChatMessage:
    return {"role": str(message.role), "content": message.content}
