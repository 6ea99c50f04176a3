"""What an export did: how many rows, from where, what was held back or skipped and why,
what was redacted. The dataset card (card.py) and the CLI read it."""

from __future__ import annotations

from dataclasses import dataclass, field

from chatapp.core.feedback.signals import PositionSkew


@dataclass(frozen=True, slots=True)
class KtoBalance:
    """Desirable (True) and undesirable (False) labels of a KTO set, and the weights
    that make weight × count equal on both sides (the larger side keeps 1.0); TRL's
    KTOConfig takes them as desirable_weight and undesirable_weight."""

    desirable: int
    undesirable: int

    @property
    def one_sided(self) -> bool:
        """Some labels, all of one value."""
        return (self.desirable == 0) != (self.undesirable == 0)

    @property
    def desirable_weight(self) -> float:
        if not self.desirable or self.desirable >= self.undesirable:
            return 1.0
        return round(self.undesirable / self.desirable, 3)

    @property
    def undesirable_weight(self) -> float:
        if not self.undesirable or self.undesirable >= self.desirable:
            return 1.0
        return round(self.desirable / self.undesirable, 3)


@dataclass(frozen=True, slots=True)
class ExportReport:
    """format: raw, dpo, kto, sft or openai. rows: written. users: how many users the
    rows come from. sources: rows by where they came from ("pairwise", "correction",
    "rated siblings", "thumb up", ...). held_back: events left out because the user had
    not said yes to training use (when it was recorded, or now), of those the format
    reads (raw: all; the others: ratings, choices and corrections). skipped: rows that
    failed validation, by reason. redactions: what was replaced in the rows written, by
    kind ("memory block": saved memories taken out of prompts). position: how often the
    reply shown first was chosen. kto: the label balance of a KTO set. filters: the
    filters applied, as given."""

    format: str
    rows: int
    users: int
    sources: dict[str, int] = field(default_factory=dict)
    held_back: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    redacted: bool = True
    memories_included: bool = False
    redactions: dict[str, int] = field(default_factory=dict)
    position: PositionSkew | None = None
    kto: KtoBalance | None = None
    filters: dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        """One line for the CLI: "12 dpo rows from 2 users; 3 events held back (no consent
        for training); 3 rows skipped as invalid (an empty reply: 2, empty prompt: 1)"."""
        parts = [f"{self.rows} {self.format} rows from {_count(self.users, 'user')}"]
        if self.held_back:
            parts.append(f"{_count(self.held_back, 'event')} held back (no consent for training)")
        if self.skipped:
            why = ", ".join(f"{reason}: {count}" for reason, count in self.skipped.items())
            parts.append(f"{_count(sum(self.skipped.values()), 'row')} skipped as invalid ({why})")
        return "; ".join(parts)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
