"""The memory extractor: durable facts a user states about themselves in one message,
proposed as Candidates. Nothing here saves anything; the user accepts, edits or dismisses.

    extract(message)                                 rules, English, Chinese and the two mixed
    await ModelExtractor(backend).extract(message)   a model's JSON, kept when grounded

This module keeps the user's own words apart from code and quotes, finds where a
self-statement may start and applies the rules there. The parts live beside it: the
Candidate record in candidate.py, the rules in rules.py, the readers of their values
(names, places, jobs...) in values.py, and ModelExtractor in model_extract.py.

Precision comes before recall: a suggestion nobody asked for costs the user more than a
fact they can still add with /remember. So the rules propose a fact only when the user
states it plainly about themselves at the start of a clause ("Hi, I'm Sam", "我叫小王",
"…, and I live in Berlin", or a Chinese clause that carries on the subject of the one
before: "我叫小王，在上海工作"), and propose nothing from

- questions ("Am I vegetarian?", "我是素食者吗？"), hypotheticals and examples ("if I were
  vegan", "假如我住在上海"), reported speech ("my friend said I'm lazy", "他说：我…");
- other people ("my wife is vegan", "他叫小王", "我妈妈住在北京"), negations ("I'm not
  from Berlin", "I used to live in Madrid"), passing states ("I'm hungry", "I'm at the
  station", "我今天很累", anything said of today, tonight, this week...);
- fenced or indented code, inline code, quoted text ("...", “…”, 「…」) and lines
  starting with ">";
- messages that ask for a translation, a rewrite or a role-play, whose first person is
  not the user's; and messages longer than MAX_MESSAGE_CHARS (a paste, not a chat line).

Candidate text is a short predicate whose subject, the user, is left out, in the language
the user stated it in, so that "The user …" or "用户…" reads as a sentence:

    Is named Sam · Prefers to be called Sam · Lives in Berlin · Is from Lagos ·
    Speaks Spanish · Works at Shopify · Is a software engineer · Is vegetarian ·
    Does not eat pork · Is allergic to peanuts · Likes hiking · Dislikes cilantro ·
    Uses they/them pronouns · Time zone is UTC+8 · Works in Go
    名叫小王 · 希望被叫作阿杰 · 住在杭州 · 来自成都 · 会说日语 · 在腾讯工作 · 是产品经理 ·
    是素食者 · 不吃香菜 · 对花生过敏 · 喜欢爬山 · 不喜欢下雨天 · 时区是东八区 · 用Go编程

Slots are those of slots.py (language there is the language replies should be in).
Facts of no slot have slot None and say what they are in `kind`: likes, dislikes,
speaks (a language the user speaks) or programming.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator

from chatapp.core.memory.candidate import Candidate, unique
from chatapp.core.memory.rules import RULES
from chatapp.core.memory.slots import Slot

__all__ = ["MAX_MESSAGE_CHARS", "Candidate", "extract", "visible_text"]

# Longer messages are pastes (logs, documents, code), not someone talking about themselves;
# skipping them also bounds what one message can cost.
MAX_MESSAGE_CHARS = 4000


def extract(message: str) -> list[Candidate]:
    """The facts the user states about themselves in message, by rule; [] for most
    messages. Linear in the message's length; messages over MAX_MESSAGE_CHARS are skipped."""
    if len(message) > MAX_MESSAGE_CHARS or _NOT_THE_USER_SPEAKING.search(message):
        return []
    text = visible_text(message)
    found: list[Candidate] = []
    for start, end in _sentences(text):
        found.extend(_from_sentence(text, start, end))
    return [_one_diet(candidate) for candidate in unique(found)]


# The diet slot holds what the user is (vegetarian, vegan, eats halal): one at a time.
# What they avoid or are allergic to adds up, so those are free-form facts of that kind.
_DIET_IDENTITY = re.compile(r"^(?:Is (?:vegetarian|vegan|pesc)|Eats |是(?:纯)?素食者)")


def _one_diet(candidate: Candidate) -> Candidate:
    if candidate.slot != Slot.DIET or _DIET_IDENTITY.match(candidate.text):
        return candidate
    return dataclasses.replace(candidate, slot=None)


# -- the user's own words ------------------------------------------------------------------

_FENCED = re.compile(r"^[ \t]*(```|~~~).*?(?:^[ \t]*\1[^\n]*$|\Z)", re.MULTILINE | re.DOTALL)
_QUOTE_LINE = re.compile(r"^[ \t]*>[^\n]*", re.MULTILINE)
_INDENTED_CODE = re.compile(r"^(?: {4}|\t)[^\n]*", re.MULTILINE)
_QUOTED = re.compile(r"`[^`\n]*`|\"[^\"\n]*\"|“[^”\n]*”|「[^」\n]*」|『[^』\n]*』")


def visible_text(message: str) -> str:
    """message with what the user did not say in their own voice blanked out (code,
    quotes, quoted lines), as long as message, so offsets into one are offsets into both."""
    text = message
    for pattern in (_FENCED, _QUOTE_LINE, _INDENTED_CODE, _QUOTED):
        text = pattern.sub(_blank, text)
    return text


def _blank(match: re.Match[str]) -> str:
    # Line breaks stay: they end sentences.
    return "".join(char if char == "\n" else " " for char in match.group())


# In these messages the first person is someone else's: text to translate, rewrite or play.
_NOT_THE_USER_SPEAKING = re.compile(
    r"\b(?:translat\w*|proofread\w*|paraphrase|rephrase|grammar|pretend\w*|role[- ]?play\w*"
    r"|act\s+as|in\s+character|lyrics|how\s+(?:do|would|can)\s+(?:you|i)\s+say|what\s+does"
    r"|(?:a|the|this)\s+(?:story|poem|dialogue|script|novel)|example\s+sentences?)\b"
    r"|翻译|怎么说|润色|改写|扮演|假装|造句|例句|台词|小说|什么意思",
    re.IGNORECASE,
)

_SENTENCE_END = re.compile(r"[!?！？。；;\n]+|\.+(?=\s|$)|…+")


def _sentences(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each sentence, its closing punctuation included."""
    start = 0
    for match in _SENTENCE_END.finditer(text):
        if not text[start : match.start()].isspace() and match.start() > start:
            yield start, match.end()
        start = match.end()
    if text[start:].strip():
        yield start, len(text)


# -- questions -----------------------------------------------------------------------------

# "I'm Sam, and you?" hands a question back; it does not question the statement.
_TAG_QUESTION = re.compile(
    r"[,，]\s*(?:(?:and|what|how)\s+about\s+you|and\s+you|you|你呢|您呢|你们呢)\s*[?？]+\s*$",
    re.IGNORECASE,
)
_CONFIRMATION = re.compile(
    r"[,，]\s*(?:right|correct|ok|okay|yes|no|isn['’]t\s+it|aren['’]t\s+i|don['’]t\s+i|am\s+i"
    r"|对吧|是吧|对不对|是不是|没错吧)\s*[?？]+\s*$",
    re.IGNORECASE,
)
_ASKING_START = re.compile(
    r"\s*(?:(?:so|and|but|also|ok|okay|well|hey|hi)\b[\s,]*)?(?:am|is|are|was|were|do|does|did"
    r"|can|could|would|will|should|shall|have|has|had|what|what['’]s|who|whose|where|when"
    r"|why|how|which|isn['’]t|aren['’]t|don['’]t|doesn['’]t|didn['’]t|won['’]t)\b",
    re.IGNORECASE,
)
_ASKING_END = re.compile(r"[吗嘛么呢吧][\s?？.。!！~～]*$")
_QUESTION_MARK = re.compile(r"[?？]\s*$")


def _asks(sentence: str) -> tuple[bool, bool]:
    """(whole, last): whether the sentence as a whole is a question, and whether it ends
    with a question mark (which then questions the clause it ends)."""
    if _TAG_QUESTION.search(sentence):
        return False, False
    last = bool(_QUESTION_MARK.search(sentence))
    whole = bool(
        _ASKING_END.search(sentence)
        or last
        and (_CONFIRMATION.search(sentence) or _ASKING_START.match(sentence))
    )
    return whole, last


# -- where a self-statement may start ------------------------------------------------------

_OPENER = re.compile(
    r"(?<![\w'’])(?:i(?=['’\s]|m\b)|im\b|my\b|please\b|just\b|you\b|everyone\b|everybody\b"
    r"|people\b|friends\b|call\b|from\s+now\s+on\b|always\b)"
    r"|(?:你|您)?(?:可以|就|请)?叫我|(?:大家|朋友们?|同事们?|别人)都?叫我|我|以后|今后|请用",
    re.IGNORECASE,
)
# What may come between a clause boundary and an opener: greetings and connectives.
_LEAD = re.compile(
    r"(?:[,;:，；：、—–(（~]|\b(?:and|but|so|because|cause|since|though|although|plus|also"
    r"|well|oh|ah|hi|hello|hey|there|btw|fyi|actually|anyway|anyways|yeah|yes|ok|okay|sure"
    r"|hmm|um|honestly|basically|again|context|note|heads\s+up|as\s+you\s+know"
    r"|by\s+the\s+way|just\s+so\s+you\s+know|for\s+the\s+record)"
    r"|而且|但是|不过|所以|因为|另外|还有|其实|对了|然后|并且|嗯|哦|啊|嗨|哈喽|你好|您好|大家好"
    r"|顺便说一下|顺便说下|补充一下|介绍一下|自我介绍一下|先说一下|说明一下)\s*$",
    re.IGNORECASE,
)
_LEAD_WINDOW = 40
# How far past its start a statement is read: no fact takes longer to say, and the bound
# keeps a pathological sentence ("I like I like I like…") linear.
_REACH = 200
# Anywhere before the opener in its sentence: what follows is not plainly the user's fact.
_HEDGE = re.compile(
    r"\b(?:if|suppose|supposing|imagine|assume|assuming|hypothetically|let['’]?s\s+say"
    r"|unless|wish|when|whenever|once|for\s+example|for\s+instance|e\.g|such\s+as"
    r"|say|says|said|tell|tells|told|think|thinks|thought|believe|believes|claim|claims"
    r"|claimed|ask|asks|asked|wrote|writes|replied|according|guess|maybe|perhaps"
    r"|probably|might|would|could|should|whether|not\s+sure|unsure|doubt|hope|wonder)\b"
    r"|如果|假如|假设|要是|假若|倘若|万一|想象|比如|例如|譬如|可能|也许|大概|好像|似乎|是否",
    re.IGNORECASE,
)
# Right before the opener: someone else's words ("他说：我叫小王").
_REPORTED = re.compile(
    r"(?:说|告诉|觉得|认为|以为|听说|据说|问|写道)(?:过|了|着|我)?\s*[：:，,]?\s*$"
)
# Anywhere in the clause of the fact: a passing state, not a durable fact.
_TRANSIENT = re.compile(
    r"\b(?:today|tonight|tomorrow|yesterday|this\s+(?:morning|afternoon|evening|week"
    r"|weekend|month|year)|right\s+now|at\s+the\s+moment|for\s+now|lately|these\s+days"
    r"|next\s+(?:week|month|year))\b"
    r"|今天|今晚|今早|明天|昨天|刚才|刚刚|此刻|这会儿|这周|这几天|这两天|最近|这个月|下周|明年",
    re.IGNORECASE,
)
_CLAUSE_END = re.compile(r"[,;:，；：、]|\s(?:but|and|though|although)\s")
# A Chinese clause that carries on the subject of the one before: "我叫小王，在上海工作".
_CARRIES_ON = re.compile(r"[^，,]*?[，,]\s*(?:不过|但是|而且|并且|所以|然后|另外|还有)?\s*")


def _openers(text: str, start: int, end: int) -> Iterator[int]:
    """Where, in the sentence text[start:end], a clause starts with the user as subject."""
    hedge = _HEDGE.search(text, start, end)
    end = hedge.start() if hedge else end
    for match in _OPENER.finditer(text, start, end):
        position = match.start()
        if not text[start:position].strip() or _after_a_lead(text, start, position):
            yield position


def _after_a_lead(text: str, start: int, position: int) -> bool:
    """Whether a greeting, a connective or punctuation comes right before position, and
    no one else's reported words."""
    window = max(start, position - _LEAD_WINDOW)
    return bool(_LEAD.search(text, window, position)) and not _REPORTED.search(
        text, window, position
    )


def _from_sentence(text: str, start: int, end: int) -> list[Candidate]:
    whole_question, last_questioned = _asks(text[start:end])
    if whole_question:
        return []
    found: list[Candidate] = []
    taken = start
    for opener in _openers(text, start, end):
        if opener < taken:
            continue
        position: int | None = opener
        carried = False
        while position is not None:
            made = _apply_rules(text, position, min(end, position + _REACH), carried)
            if not made:
                break
            taken = max(candidate.span[1] for candidate in made)
            found.extend(c for c in made if _stands(text, position, c, end, last_questioned))
            carry = _CARRIES_ON.match(text, taken, min(end, taken + _REACH))
            position, carried = (carry.end(), True) if carry else (None, False)
    return found


def _apply_rules(text: str, position: int, end: int, carried: bool) -> list[Candidate]:
    """The candidates of the first rule that makes any at position."""
    for rule in RULES:
        pattern = rule.carried if carried else rule.pattern
        match = pattern.match(text, position, end) if pattern is not None else None
        if match is not None:
            made = rule.build(text, match, end)
            if made:
                return made
    return []


def _stands(text: str, position: int, candidate: Candidate, end: int, questioned: bool) -> bool:
    """Whether nothing in the candidate's clause takes the fact back: a passing time, or
    the question mark that ends the sentence."""
    reach = min(end, candidate.span[1] + _REACH)
    clause = _CLAUSE_END.search(text, candidate.span[1], reach)
    if clause is None and questioned and reach == end:
        return False
    return not _TRANSIENT.search(text, position, clause.start() if clause else reach)
