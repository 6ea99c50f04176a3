"""The dataset card written beside an export (FILE.md, Hugging Face style): front matter
that lets `datasets` and the Hub load the file, then what is in it and what is not:
counts, sources, label balance and suggested KTO weights, position skew, rows held back
and skipped, and what was redacted."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from chatapp.core.feedback.report import ExportReport, KtoBalance
from chatapp.core.feedback.signals import PositionSkew

_FORMATS = {
    "raw": (
        "chatapp feedback events (schema `chatapp.feedback/1`), one per line, the user"
        " name replaced by an HMAC-SHA256 of it."
    ),
    "dpo": (
        'TRL conversational preference rows: `{"prompt": [messages], "chosen":'
        ' [assistant message], "rejected": [assistant message]}`, for `DPOTrainer`.'
    ),
    "kto": (
        'TRL conversational unpaired preference rows: `{"prompt": [messages],'
        ' "completion": [assistant message], "label": true|false}`, for `KTOTrainer`.'
    ),
    "sft": (
        'TRL conversational rows: `{"messages": [messages..., assistant message]}`,'
        " for `SFTTrainer`."
    ),
    "openai": (
        'OpenAI preference fine-tuning rows: `{"input": {"messages": [...]},'
        ' "preferred_output": [assistant message], "non_preferred_output":'
        " [assistant message]}`."
    ),
}
_TAGS = {
    "raw": ["human-feedback"],
    "dpo": ["dpo", "trl", "preference"],
    "kto": ["kto", "trl", "preference"],
    "sft": ["sft", "trl"],
    "openai": ["openai", "preference"],
}


def card_path(path: Path) -> Path:
    """Where the card of the export at path goes: out.jsonl → out.md."""
    if path.suffix == ".md":
        return path.with_name(f"{path.stem}.card.md")
    return path.with_suffix(".md")


def dataset_card(report: ExportReport, *, data_file: str, today: datetime | None = None) -> str:
    day = (today or datetime.now(UTC)).date().isoformat()
    sections = [
        _front_matter(report, data_file),
        f"# chatapp feedback: {report.format}\n\n"
        f"Exported by chatapp on {day} from the feedback users gave on replies, with their"
        f" consent for training use.\n\n{_FORMATS[report.format]} Load it with"
        f' `datasets.load_dataset("json", data_files={json.dumps(data_file)})`.',
        _counts(report),
        _bullets("Sources", report.sources, "No rows."),
    ]
    if report.kto is not None:
        sections.append(_label_balance(report.kto))
    if report.position is not None:
        sections.append(_position(report.position))
    sections.append(
        _bullets(
            "Skipped rows",
            report.skipped,
            "None: every row passed validation (roles in order, no empty message, the reply last).",
        )
    )
    sections.append(_privacy(report))
    if report.filters:
        sections.append(_bullets("Filters", report.filters, ""))
    return "\n\n".join(sections) + "\n"


# How every card starts: an export may replace a file that starts so, and no other.
CARD_START = b'---\npretty_name: "chatapp feedback'


def _front_matter(report: ExportReport, data_file: str) -> str:
    tags = ["chatapp", *_TAGS[report.format]]
    lines = [
        "---",
        f"pretty_name: {json.dumps(f'chatapp feedback ({report.format})')}",
        "tags:",
        *(f"- {tag}" for tag in tags),
        "task_categories:",
        "- text-generation",
        "size_categories:",
        f"- {_size_category(report.rows)}",
        "configs:",
        "- config_name: default",
        "  data_files:",
        "  - split: train",
        f"    path: {json.dumps(data_file)}",
        "---",
    ]
    return "\n".join(lines)


def _size_category(rows: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K")):
        if rows < limit:
            return name
    return "100K<n<1M" if rows < 1_000_000 else "n>1M"


def _counts(report: ExportReport) -> str:
    skipped = sum(report.skipped.values())
    return "\n".join(
        [
            "## Counts",
            "",
            f"- rows: {report.rows}",
            f"- users: {report.users}",
            f"- events held back (the user had not said yes to training use): {report.held_back}",
            f"- rows skipped as invalid: {skipped}",
        ]
    )


def _label_balance(balance: KtoBalance) -> str:
    return "\n".join(
        [
            "## Label balance",
            "",
            f"- desirable (`label: true`): {balance.desirable}",
            f"- undesirable (`label: false`): {balance.undesirable}",
            "",
            "Suggested `KTOConfig` weights, so that weight × count is the same on both"
            f" sides: `desirable_weight={balance.desirable_weight}`,"
            f" `undesirable_weight={balance.undesirable_weight}`.",
        ]
    )


def _position(skew: PositionSkew) -> str:
    if skew.share is None:
        body = "No pairwise choice with a preferred reply."
    else:
        body = (
            f"The reply shown first was chosen in {skew.first_chosen} of {skew.decided}"
            f" decided pairwise choices ({skew.share:.0%}); chance alone gives"
            f" {skew.expected:.0%}. A share far above chance means position, not"
            " quality, decided some choices."
        )
    return f"## Position skew\n\n{body}"


def _privacy(report: ExportReport) -> str:
    counts = {kind: n for kind, n in report.redactions.items() if kind != "memory block"}
    if report.redacted:
        found = ", ".join(f"{kind}: {n}" for kind, n in sorted(counts.items())) or "none found"
        redaction = (
            "E-mail addresses, API-key-like strings, phone numbers and home-directory paths"
            f" were replaced by markers ([email], [key], [phone], ~). Replaced: {found}."
        )
    else:
        redaction = "Redaction was turned off: texts are as the users wrote and read them."
    if report.memories_included:
        memories = "Saved memories were kept in the prompts, as the model saw them."
    else:
        blocks = report.redactions.get("memory block", 0)
        memories = f"The blocks of users' saved memories were taken out of prompts ({blocks})."
    return f"## Privacy\n\n{redaction} {memories}"


def _bullets(title: str, items: dict[str, int] | dict[str, str], empty: str) -> str:
    lines = [f"- {key}: {value}" for key, value in items.items()]
    return f"## {title}\n\n" + ("\n".join(lines) if lines else empty)
