"""Practice: one input through 2 to 4 variants of a prompt, side by side and blind.

A variant is a prompt made ready to send (system and user text, already rendered from a
template or typed) with the model and sampling to send it with. A PracticeRun starts
every sample at once as a Generation: remote models answer concurrently, the in-process
model one request after another on its thread. Columns are lettered A, B, C, D in a
shuffled order, and the variant behind each letter stays hidden until the user chooses;
the choice keeps the order shown, so position bias can be measured later.
"""

from __future__ import annotations

import dataclasses
import difflib
import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from chatapp.core.backends.base import Backend, ChatMessage, GenerationParams
from chatapp.core.errors import ChatappError
from chatapp.core.generation import Generation

if TYPE_CHECKING:
    from chatapp.config import ModelConfig
    from chatapp.core.templates import Rendered, Template

# A library's render: a template and values → the filled-in prompt.
Render = Callable[["Template", Mapping[str, str]], "Rendered"]

MIN_VARIANTS = 2
MAX_VARIANTS = 4
MAX_REPEATS = 5
LETTERS = "ABCD"


class PracticeError(ChatappError):
    """A practice run asked for something it cannot do."""


@dataclass(frozen=True, slots=True)
class Variant:
    """One way of asking: what is sent, to which model, with which sampling."""

    model: str
    user: str
    system: str | None = None
    params: GenerationParams = field(default_factory=GenerationParams)
    # Where the prompt came from: {"name": ..., "version": ...} of a template, or None.
    template: dict[str, Any] | None = None
    variables: dict[str, str] = field(default_factory=dict)

    @property
    def messages(self) -> list[ChatMessage]:
        head: list[ChatMessage] = (
            [{"role": "system", "content": self.system}] if self.system else []
        )
        return [*head, {"role": "user", "content": self.user}]

    @property
    def label(self) -> str:
        """What it is, for when it is revealed: template (and version), model, sampling."""
        parts = []
        if self.template is not None:
            version = self.template.get("version")
            parts.append(f"{self.template['name']}" + (f" v{version}" if version else ""))
        else:
            parts.append("own prompt")
        parts.append(self.model)
        if self.params.temperature is not None:
            parts.append(f"t={self.params.temperature:g}")
        return " · ".join(parts)


def make_variant(
    model: ModelConfig,
    text: str,
    template: tuple[Template, Render] | None = None,
    *,
    values: Mapping[str, str] | None = None,
    params: GenerationParams | None = None,
    temperature: float | None = None,
    max_tokens: int | None = None,
) -> Variant:
    """text asked of model: filled into template (with the library's render; text is
    its main variable, values the others) or as it is; with params, else the template's
    suggested sampling on the model's; then temperature and max_tokens if given."""
    from chatapp.core.session import default_params

    if template is None:
        variant = Variant(model.name, text, params=params or default_params(model))
    else:
        chosen, render = template
        filled = {**(values or {}), chosen.main: text} if text else dict(values or {})
        rendered = render(chosen, filled)
        variant = Variant(
            model.name,
            rendered.user,
            rendered.system or None,
            params or default_params(model, **chosen.suggested_params()),
            {"name": chosen.name, "version": chosen.version},
            {k: str(v) for k, v in rendered.variables.items()},
        )
    sampling = variant.params
    if temperature is not None:
        sampling = dataclasses.replace(sampling, temperature=temperature)
    if max_tokens is not None:
        sampling = dataclasses.replace(sampling, max_tokens=max_tokens)
    return dataclasses.replace(variant, params=sampling)


@dataclass(slots=True)
class Column:
    """What the user sees under one letter: every sample of one hidden variant."""

    letter: str
    variant: Variant
    samples: list[Generation]
    # Which sample is on view (the screen steps through them); a choice records it.
    shown_index: int = 0

    @property
    def shown(self) -> Generation:
        """The sample on view: the first, until the user steps to another."""
        return self.samples[self.shown_index]


ChoiceKind = Literal["preferred", "tie", "both_bad"]


@dataclass(frozen=True, slots=True)
class Choice:
    """What the user chose, with the letters in the order they were shown."""

    kind: ChoiceKind
    # The letter chosen (for "preferred"), else None.
    letter: str | None
    shown_order: tuple[str, ...]


class PracticeRun:
    """Samples of every variant for one input; choose() ends the blind part."""

    def __init__(
        self,
        variants: Sequence[Variant],
        backend_for: Callable[[str], Backend],
        *,
        repeats: int = 1,
        rng: random.Random | None = None,
    ) -> None:
        if not MIN_VARIANTS <= len(variants) <= MAX_VARIANTS:
            raise PracticeError(
                f"compare takes {MIN_VARIANTS} to {MAX_VARIANTS} variants, not {len(variants)}"
            )
        if not 1 <= repeats <= MAX_REPEATS:
            raise PracticeError(f"repeat each variant 1 to {MAX_REPEATS} times, not {repeats}")
        order = list(variants)
        (rng or random.Random()).shuffle(order)
        self.columns = [
            Column(
                letter,
                variant,
                [
                    Generation(backend_for(variant.model), variant.messages, variant.params)
                    for _ in range(repeats)
                ],
            )
            for letter, variant in zip(LETTERS, order, strict=False)
        ]
        self.choice: Choice | None = None

    @property
    def revealed(self) -> bool:
        return self.choice is not None

    @property
    def done(self) -> bool:
        return all(sample.done for column in self.columns for sample in column.samples)

    def start(self) -> PracticeRun:
        for column in self.columns:
            for sample in column.samples:
                sample.start()
        return self

    def stop(self) -> None:
        for column in self.columns:
            for sample in column.samples:
                sample.stop()

    async def wait(self) -> None:
        for column in self.columns:
            for sample in column.samples:
                await sample.ended()

    def column(self, letter: str) -> Column:
        for column in self.columns:
            if column.letter == letter:
                return column
        raise PracticeError(f"no column {letter}: there are {self.letters}")

    @property
    def letters(self) -> str:
        return "".join(column.letter for column in self.columns)

    def choose(self, kind: ChoiceKind, letter: str | None = None) -> Choice:
        """The user's verdict; reveals the variants. A letter only with "preferred"."""
        if (kind == "preferred") != (letter is not None):
            raise PracticeError("choose a column for 'preferred', and none for a tie or all bad")
        if letter is not None:
            self.column(letter)
        self.choice = Choice(kind, letter, tuple(self.letters))
        return self.choice


# A word (letters and digits), a single CJK character, or any other single character:
# a word-level diff of mixed Chinese and English text.
_DIFF_TOKEN = re.compile(r"[^\W\u3400-\u9fff\uf900-\ufaff]+|[\u3400-\u9fff\uf900-\ufaff]|\s+|.")

DiffOp = Literal["same", "removed", "added"]


def prompt_diff(old: str, new: str) -> list[tuple[DiffOp, str]]:
    """A word-level diff of two prompts (Chinese character by character), as runs of
    text that are the same, only in old (removed) or only in new (added)."""
    a, b = _DIFF_TOKEN.findall(old), _DIFF_TOKEN.findall(new)
    runs: list[tuple[DiffOp, str]] = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            runs.append(("same", "".join(a[i1:i2])))
            continue
        if i2 > i1:
            runs.append(("removed", "".join(a[i1:i2])))
        if j2 > j1:
            runs.append(("added", "".join(b[j1:j2])))
    return runs


def variant_prompt(variant: Variant) -> str:
    """The whole prompt of a variant as one text, for the diff pane."""
    parts = [f"[system]\n{variant.system}"] if variant.system else []
    parts.append(f"[user]\n{variant.user}")
    return "\n\n".join(parts)
