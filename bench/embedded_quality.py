"""Choose the embedded model's default system prompt and sampling by measuring them.

SmolLM2-135M answers most easy factual questions, but it may answer in the question's
subject's language ("la capitale de la France...") and rambles when sampling runs hot.
Each candidate (system prompt x temperature x repeat penalty) answers the same easy
questions through LlamaBackend, and is scored on

    correct  an expected keyword is in the answer            weight 0.6
    english  the answer is in English                        weight 0.2
    concise  it ends by itself within MAX_WORDS words        weight 0.2

Sampled candidates (temperature > 0) answer each question once per seed (--seeds, default
1, as the full grid already takes a quarter of an hour on two busy cores). The last line
printed is one JSON object: the best candidate and how the current defaults
(config.embedded_model()) compare with it.

--kv picks the KV cache the model runs with (bench/kv_caches.py): run the same grid with
--kv before and --kv chatapp to see whether quantising the cache changes the answers.

    python bench/embedded_quality.py [--seeds 3] [--systems current,example]
        [--temperatures 0,0.2] [--penalties 1.0,1.1] [--questions 8]
        [--kv chatapp|before|q8_0-fa]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import re
import statistics
from dataclasses import dataclass

from kv_caches import KV_CACHES

from chatapp.config import EMBEDDED_SYSTEM_PROMPT, embedded_model
from chatapp.core.backends.base import ChatMessage, GenerationParams
from chatapp.core.backends.llama_file import LlamaFile
from chatapp.core.backends.llama_local import LlamaBackend

# The current defaults may trail the best candidate by this much and still be "ok".
MARGIN = 0.03
MAX_TOKENS = 64
MAX_WORDS = 40
WEIGHTS = {"correct": 0.6, "english": 0.2, "concise": 0.2}

# (question, keywords: any one of them, as a whole word, makes the answer correct)
QUESTIONS: list[tuple[str, tuple[str, ...]]] = [
    ("What is the capital of France?", ("paris",)),
    ("What is the capital of Japan?", ("tokyo",)),
    ("What is the capital of Italy?", ("rome",)),
    ("How many days are there in a week?", ("7", "seven")),
    ("What is the largest planet in our solar system?", ("jupiter",)),
    ("What color do you get when you mix blue and yellow?", ("green",)),
    ("Who wrote Romeo and Juliet?", ("shakespeare",)),
    ("What is the chemical formula of water?", ("h2o", "h₂o")),
    ("How many legs does a spider have?", ("8", "eight")),
    ("Which planet is known as the Red Planet?", ("mars",)),
    ("What is the largest ocean on Earth?", ("pacific",)),
    ("What gas do plants take in from the air to make food?", ("carbon dioxide", "co2")),
    ("How many continents are there on Earth?", ("7", "seven")),
    ("What is 12 plus 7?", ("19", "nineteen")),
    ("What language is mainly spoken in Brazil?", ("portuguese",)),
    ("Who painted the Mona Lisa?", ("leonardo", "da vinci")),
    ("At what temperature in degrees Celsius does water boil at sea level?", ("100",)),
    ("What is the tallest mountain in the world?", ("everest",)),
    ("What is the currency of the United Kingdom?", ("pound", "pounds", "sterling")),
    ("What is the capital of Spain?", ("madrid",)),
]

# None: no system message, so SmolLM2's chat template inserts its own
# ("You are a helpful AI assistant named SmolLM, trained by Hugging Face").
SYSTEM_PROMPTS: dict[str, str | None] = {
    "template": None,
    "current": EMBEDDED_SYSTEM_PROMPT,
    "one-sentence": (
        "You are a helpful assistant. Always answer in English, in one short sentence."
    ),
    "example": (
        "You are a helpful assistant. Answer in English, in one short sentence, like "
        '"The capital of Germany is Berlin."'
    ),
}
TEMPERATURES = (0.0, 0.2, 0.7)
REPEAT_PENALTIES = (1.0, 1.1, 1.3)
TOP_P = 0.9

# Function words that give a language away; a few in a reply are enough to tell.
_ENGLISH_WORDS = """the is are was of and a an in to it its this that which with for on by as at
from be has have there called known largest capital city answer you"""
_FOREIGN_WORDS = """le la les est des du une et capitale il è di della el es los las y una der
die das ist und ein eine hauptstadt à où qui sont"""
_ENGLISH = frozenset(_ENGLISH_WORDS.split())
_FOREIGN = frozenset(_FOREIGN_WORDS.split())
_NON_LATIN = re.compile(r"[\u0400-\u04ff\u0590-\u06ff\u3040-\u30ff\u4e00-\u9fff\uac00-\ud7af]")


@dataclass(frozen=True, slots=True)
class Candidate:
    system: str
    temperature: float
    repeat_penalty: float

    @property
    def label(self) -> str:
        return f"{self.system:12} t={self.temperature:<4} rp={self.repeat_penalty:<4}"


@dataclass(frozen=True, slots=True)
class Score:
    correct: float
    english: float
    concise: float
    words: float

    @property
    def total(self) -> float:
        return (
            WEIGHTS["correct"] * self.correct
            + WEIGHTS["english"] * self.english
            + WEIGHTS["concise"] * self.concise
        )


def is_correct(answer: str, keywords: tuple[str, ...]) -> bool:
    return any(re.search(rf"\b{re.escape(k)}\b", answer, re.IGNORECASE) for k in keywords)


def is_english(answer: str) -> bool:
    """Few foreign function words and no non-Latin script; "Paris." counts as English."""
    if _NON_LATIN.search(answer):
        return False
    words = re.findall(r"[^\W\d_]+", answer.lower())
    foreign = sum(word in _FOREIGN for word in words)
    english = sum(word in _ENGLISH for word in words)
    return foreign == 0 or english >= 3 * foreign


def is_concise(answer: str, finish_reason: str | None) -> bool:
    return finish_reason == "stop" and len(answer.split()) <= MAX_WORDS


def params_for(candidate: Candidate, seed: int) -> GenerationParams:
    return GenerationParams(
        max_tokens=MAX_TOKENS,
        temperature=candidate.temperature,
        top_p=TOP_P,
        repeat_penalty=candidate.repeat_penalty,
        seed=seed,
    )


async def answer(
    backend: LlamaBackend, system: str | None, question: str, params: GenerationParams
) -> tuple[str, str | None]:
    messages: list[ChatMessage] = [{"role": "system", "content": system}] if system else []
    messages.append({"role": "user", "content": question})
    parts: list[str] = []
    finish_reason = None
    async for chunk in backend.stream(messages, params):
        parts.append(chunk.text)
        finish_reason = chunk.finish_reason or finish_reason
    return "".join(parts).strip(), finish_reason


async def evaluate(
    backend: LlamaBackend,
    candidate: Candidate,
    questions: list[tuple[str, tuple[str, ...]]],
    seeds: int,
) -> tuple[Score, list[str]]:
    """Score one candidate; also returns the answers that missed, for the log."""
    system = SYSTEM_PROMPTS[candidate.system]
    # Greedy decoding ignores the seed, so one pass is the whole story.
    seed_list = range(1, seeds + 1) if candidate.temperature > 0 else range(1, 2)
    correct, english, concise, words = [], [], [], []
    misses: list[str] = []
    for seed, (question, keywords) in itertools.product(seed_list, questions):
        text, finish_reason = await answer(backend, system, question, params_for(candidate, seed))
        correct.append(is_correct(text, keywords))
        english.append(is_english(text))
        concise.append(is_concise(text, finish_reason))
        words.append(len(text.split()))
        if not correct[-1] or not english[-1]:
            misses.append(f"{question} -> {text[:100]!r}")
    score = Score(
        statistics.mean(correct),
        statistics.mean(english),
        statistics.mean(concise),
        statistics.mean(words),
    )
    return score, misses


def current_candidate() -> Candidate:
    """The defaults config.py ships, as a point of the grid."""
    model = embedded_model()
    return Candidate("current", model.temperature or 0.0, model.repeat_penalty or 1.0)


def grid(systems: list[str], temperatures: list[float], penalties: list[float]) -> list[Candidate]:
    candidates = [
        Candidate(system, temperature, penalty)
        for system, temperature, penalty in itertools.product(systems, temperatures, penalties)
    ]
    current = current_candidate()
    if current not in candidates:
        candidates.append(current)
    return candidates


async def run(
    candidates: list[Candidate], questions: list[tuple[str, tuple[str, ...]]], seeds: int, kv: str
) -> dict[str, object]:
    model = embedded_model()
    if model.top_p != TOP_P:
        print(f"note: config top_p is {model.top_p}, the grid uses {TOP_P}")
    file = LlamaFile.for_models([model], KV_CACHES[kv])
    backend = LlamaBackend(model, file)
    backend.load()
    print(f"KV cache {kv}: {file.cache}")
    scores: dict[Candidate, Score] = {}
    columns = ("score", "correct", "english", "concise", "words")
    print(f"{'candidate':34} " + " ".join(f"{name:>8}" for name in columns))
    for candidate in candidates:
        score, misses = await evaluate(backend, candidate, questions, seeds)
        scores[candidate] = score
        print(
            f"{candidate.label:34} {score.total:8.3f} {score.correct:8.2f} "
            f"{score.english:8.2f} {score.concise:8.2f} {score.words:8.1f}",
            flush=True,
        )
        for miss in misses[:3]:
            print(f"    miss: {miss}")
    await backend.aclose()
    file.unload()
    return {**verdict(scores), "kv": kv}


def verdict(scores: dict[Candidate, Score]) -> dict[str, object]:
    # Ties go to the shorter answers: quicker to read and to generate.
    best = max(scores, key=lambda c: (round(scores[c].total, 3), -scores[c].words))
    current = current_candidate()
    print(f"\nbest:    {best.label} {scores[best].total:.3f}")
    print(f"current: {current.label} {scores[current].total:.3f}")
    return {
        "bench": "embedded_quality",
        "best": {
            "system_prompt": SYSTEM_PROMPTS[best.system],
            "system_name": best.system,
            "temperature": best.temperature,
            "repeat_penalty": best.repeat_penalty,
            "top_p": TOP_P,
            "score": round(scores[best].total, 3),
        },
        "current": {
            "system_name": current.system,
            "temperature": current.temperature,
            "repeat_penalty": current.repeat_penalty,
            "score": round(scores[current].total, 3),
        },
        "margin": MARGIN,
        "ok": scores[current].total >= scores[best].total - MARGIN,
    }


def numbers(text: str) -> list[float]:
    return [float(part) for part in text.split(",")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=1, help="runs per question when sampling")
    parser.add_argument(
        "--systems", default=",".join(SYSTEM_PROMPTS), help="names, comma-separated"
    )
    parser.add_argument("--temperatures", type=numbers, default=list(TEMPERATURES))
    parser.add_argument("--penalties", type=numbers, default=list(REPEAT_PENALTIES))
    parser.add_argument("--questions", type=int, default=len(QUESTIONS), help="use the first N")
    parser.add_argument("--kv", choices=list(KV_CACHES), default="chatapp", help="KV cache")
    args = parser.parse_args()
    candidates = grid(args.systems.split(","), args.temperatures, args.penalties)
    result = asyncio.run(run(candidates, QUESTIONS[: args.questions], args.seeds, args.kv))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
