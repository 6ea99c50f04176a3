"""The memory extractor: durable facts a user states about themselves in one message,
proposed as Candidates. Nothing here saves anything; the user accepts, edits or dismisses.

    extract(message)                                 rules, English, Chinese and the two mixed
    await ModelExtractor(backend).extract(message)   a model's JSON, kept when grounded

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
import itertools
import json
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from chatapp.core.backends.base import Backend, BackendError, ChatMessage, GenerationParams
from chatapp.core.generation import Generation
from chatapp.core.memory.slots import SLOTS, Slot

log = logging.getLogger(__name__)

# Longer messages are pastes (logs, documents, code), not someone talking about themselves;
# skipping them also bounds what one message can cost.
MAX_MESSAGE_CHARS = 4000

# Kinds of free-form facts (slot None).
LIKES = "likes"
DISLIKES = "dislikes"
SPEAKS = "speaks"
PROGRAMMING = "programming"
KINDS: frozenset[str] = SLOTS | {LIKES, DISLIKES, SPEAKS, PROGRAMMING}


@dataclass(frozen=True, slots=True)
class Candidate:
    """A fact proposed for memory. text is what would be stored, slot the slot it would
    fill (None for a free-form fact), value the bare value ("Sam"), span the (start, end)
    in the message of the words it came from ("I'm Sam"), kind what it is: the slot, or
    for a free-form fact likes, dislikes, speaks or programming ("" when not known)."""

    text: str
    slot: str | None
    value: str
    span: tuple[int, int]
    kind: str = ""


def extract(message: str) -> list[Candidate]:
    """The facts the user states about themselves in message, by rule; [] for most
    messages. Linear in the message's length; messages over MAX_MESSAGE_CHARS are skipped."""
    if len(message) > MAX_MESSAGE_CHARS or _NOT_THE_USER_SPEAKING.search(message):
        return []
    text = visible_text(message)
    found: list[Candidate] = []
    for start, end in _sentences(text):
        found.extend(_from_sentence(text, start, end))
    return [_one_diet(candidate) for candidate in _unique(found)]


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
    for rule in _RULES:
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


def _unique(candidates: list[Candidate]) -> list[Candidate]:
    seen: set[tuple[str, str | None, str]] = set()
    kept: list[Candidate] = []
    for candidate in candidates:
        key = (candidate.kind, candidate.slot, candidate.value.casefold())
        if key not in seen:
            seen.add(key)
            kept.append(candidate)
    return kept


# -- values --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Value:
    """A value read from the message: where it is and its bare form."""

    start: int
    end: int
    value: str


ValueReader = Callable[[str, int, int], list[_Value]]

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_LATIN = "A-Za-z\u00c0-\u024f"
_SPACES = re.compile(r"[ \t\u3000]*")
_THE = re.compile(r"the\s+", re.IGNORECASE)


def _skip_spaces(text: str, position: int, end: int) -> int:
    match = _SPACES.match(text, position, end)
    return match.end() if match else position


def _words(words: str) -> frozenset[str]:
    return frozenset(words.split())


# Capitalised words that follow "I'm" without being a name.
_NOT_NAMES = _words(
    """not so very really just also still always never here there back home done sorry sure
    fine good okay ok great glad happy sad tired hungry ready busy free bored excited
    confused lost stuck curious afraid scared interested available right wrong late early
    alone single married pregnant retired unemployed vegan vegetarian allergic in on at
    from with the a an your their his her our my this that male female gay straight trans
    christian muslim jewish catholic buddhist hindu atheist american british english
    german french chinese japanese korean indian canadian australian italian spanish
    mexican brazilian russian dutch swedish polish irish scottish welsh turkish greek
    portuguese vietnamese thai filipino taiwanese swiss austrian belgian danish norwegian
    finnish israeli egyptian nigerian kenyan african asian european latino latina
    hispanic arab persian iranian pakistani ukrainian new old young afk worried stressed
    exhausted annoyed finished pleased impressed surprised amazed convinced frustrated
    sick well hot cold cool about off out up down over currently now gonna going mr mrs ms
    miss dr prof sir madam nepali bangladeshi malaysian singaporean peruvian chilean
    colombian argentinian argentine venezuelan cuban jamaican haitian moroccan algerian
    ethiopian ghanaian hungarian czech slovak romanian bulgarian serbian croatian bosnian
    albanian lithuanian latvian estonian icelandic kiwi aussie texan californian autistic
    bi deaf blind queer lesbian nonbinary non-binary disabled introverted extroverted
    black white brown mixed pescatarian celiac diabetic"""
)
_FUNCTION_WORDS = _words(
    """a an the and or but not no is am are was were be been to of in on at for from with
    by as it its this that these those my your his her our their i me you he she we they
    him them us so very really just also too what who where when why how which if then
    than here there some any all both each every much many more most less lot lots btw"""
)
_NAME_TOKEN = re.compile(rf"[{_LATIN}]+(?:[-'’][{_LATIN}]+)*")
_NAME_AFTER = re.compile(
    r"\s*(?:$|[,.!;:)(—–，。！；：（]|\s(?:and|from|here|btw|by\s+the\s+way|again|too|lol"
    r"|haha)\b)",
    re.IGNORECASE,
)
_CJK_NAME = re.compile(rf"[{_CJK}·]{{2,4}}(?![{_CJK}])")


def _latin_name(text: str, position: int, end: int, *, strict: bool) -> _Value | None:
    """One to three name words. Strict ("I'm Sam") wants them capitalised and followed by
    the end of the clause; loose ("my name is sam") takes a lower-case first word."""
    spans: list[tuple[int, int]] = []
    cursor = position
    while len(spans) < 3:
        match = _NAME_TOKEN.match(text, cursor, end)
        if match is None or not _may_be_name(match.group(), strict or bool(spans)):
            break
        spans.append(match.span())
        if match.end() >= end or text[match.end()] != " ":
            break
        cursor = match.end() + 1
    if not spans:
        return None
    value_end = spans[-1][1]
    if strict and not _NAME_AFTER.match(text, value_end, end):
        return None
    return _Value(position, value_end, text[position:value_end])


def _may_be_name(word: str, capitalised: bool) -> bool:
    lowered = word.casefold()
    if lowered in _FUNCTION_WORDS:
        return False
    if not capitalised:
        return True
    return (
        word[0].isupper()
        and not word.isupper()
        and not lowered.endswith(("'s", "’s", "ese"))
        and lowered not in _NOT_NAMES
        and not (len(word) > 5 and lowered.endswith("ing"))
    )


def _name_value(strict: bool) -> ValueReader:
    def read(text: str, position: int, end: int) -> list[_Value]:
        position = _skip_spaces(text, position, end)
        cjk = None if strict else _CJK_NAME.match(text, position, end)
        if cjk:
            return [_Value(cjk.start(), cjk.end(), cjk.group())]
        value = _latin_name(text, position, end, strict=strict)
        return [value] if value else []

    return read


_PLACE_WORD = re.compile(rf"[A-Z][{_LATIN}.'’&-]*|(?:of|de|la|upon|am|on|del|da|do|y)(?= )")
_NOT_ORGS = _words("I IT HR Sales Marketing Finance Engineering Support Legal Team Monday")
_NOT_PLACES = _NOT_ORGS | _words(
    "Google Microsoft Apple Amazon Meta Facebook OpenAI IBM Intel Nvidia Netflix Tesla"
)
# After a place, words that make it part of an organisation: "I'm from the Berlin office".
_PLACE_OF_ORG = re.compile(
    r"['’]s\b|\s+(?:team|office|department|support|company|branch|headquarters|hq|side"
    r"|group|campus|store|shop)\b",
    re.IGNORECASE,
)
_CJK_PLACE = re.compile(rf"[{_CJK}]{{2,12}}")
_CJK_PLACE_STOP = re.compile(
    r"的|了|呢|吗|啊|吧|呀|哦|嘛|和|工作|上班|生活|定居|住|上学|读书|因为|所以|但是|不过|而且|附近"
    r"|那边|这边|一带|已经|有|当|做|担任|(?:[一二两三四五六七八九十几多好]+|\d+)\s*(?:年|个月|天|周)"
)
_NOT_CJK_PLACES = re.compile(
    r"^[一这那某个我你他她它]|很|非常|酒店|宾馆|家里|朋友家|宿舍|车站|地铁"
)


def _cjk_place(text: str, position: int, end: int) -> _Value | None:
    """A run of Chinese characters up to a particle or the verb that follows a place."""
    match = _CJK_PLACE.match(text, position, end)
    if match is None:
        return None
    stop = _CJK_PLACE_STOP.search(text, position + 1, match.end())
    run_end = stop.start() if stop else match.end()
    value = text[position:run_end]
    if len(value) < 2 or _NOT_CJK_PLACES.search(value):
        return None
    return _Value(position, run_end, value)


def _capitalised(
    text: str, position: int, end: int, word: re.Pattern[str], excluded: frozenset[str]
) -> _Value | None:
    """A capitalised phrase ("New York City", "the Netherlands"), its value without "the"."""
    the = _THE.match(text, position, end)
    first = cursor = the.end() if the else position
    last_end = None
    for _ in range(5):
        match = word.match(text, cursor, end)
        if match is None:
            break
        if match.group()[:1].isupper() or match.group()[:1].isdigit():
            last_end = match.end()
        if match.end() >= end or text[match.end()] != " ":
            break
        cursor = match.end() + 1
    if last_end is None:
        return None
    value = text[first:last_end].rstrip(".'’")
    if value in excluded:
        return None
    return _Value(position, first + len(value), value)


def _place_value(text: str, position: int, end: int) -> list[_Value]:
    position = _skip_spaces(text, position, end)
    value = _cjk_place(text, position, end) or _capitalised(
        text, position, end, _PLACE_WORD, _NOT_PLACES
    )
    if value is None or _PLACE_OF_ORG.match(text, value.end, end):
        return []
    return [value]


_LANGUAGE_NAMES = (
    "English|Mandarin(?: Chinese)?|Chinese|Cantonese|Spanish|French|German|Italian"
    "|Portuguese|Russian|Japanese|Korean|Arabic|Hindi|Bengali|Urdu|Punjabi|Tamil|Telugu"
    "|Marathi|Gujarati|Persian|Farsi|Turkish|Dutch|Swedish|Norwegian|Danish|Finnish|Polish"
    "|Czech|Slovak|Hungarian|Romanian|Greek|Hebrew|Ukrainian|Vietnamese|Thai|Indonesian"
    "|Malay|Tagalog|Filipino|Swahili|Catalan|Basque|Irish|Welsh|Icelandic|Serbian|Croatian"
    "|Bulgarian|Latin|Esperanto|Afrikaans|Amharic|Yoruba|Hausa|Zulu|Taiwanese|Hokkien"
    "|Shanghainese|ASL|中文|汉语|普通话|国语|粤语|广东话|上海话|四川话|闽南语|闽南话|台语|客家话"
    "|潮州话|英语|英文|日语|日文|韩语|韩文|法语|德语|西班牙语|葡萄牙语|俄语|意大利语|阿拉伯语"
    "|荷兰语|泰语|越南语|印地语|手语"
)
_LANGUAGE = re.compile(rf"(?:{_LANGUAGE_NAMES})(?![{_LATIN}])", re.IGNORECASE)
_PROGRAMMING_NAMES = (
    r"Go|Golang|golang|Rust|rust|Python|python|Java|java|JavaScript|javascript|TypeScript"
    r"|typescript|Kotlin|kotlin|Swift|C\+\+|C#|F#|C|Ruby|PHP|php|Scala|Haskell|haskell"
    r"|Elixir|Erlang|Clojure|OCaml|Julia|Lua|Perl|Dart|Zig|Nim|R|MATLAB|Matlab|Fortran"
    r"|COBOL|Objective-C|SQL|Bash|PowerShell|Groovy|Elm|Lisp|Scheme|Racket|Prolog"
    r"|Solidity|Verilog|VHDL"
)
_PROGRAMMING = re.compile(rf"(?:{_PROGRAMMING_NAMES})(?![A-Za-z0-9_+#])")
# "and", "or", commas and their Chinese kin between the items of a list.
_LIST_JOIN = re.compile(
    r"\s*(?:,\s*(?:and\s+|or\s+)?|\s(?:and|or|&)\s|/|和|与|跟|、|以及|还有|或者?)\s*"
)


def _listed(item: re.Pattern[str], after: re.Pattern[str] | None = None) -> ValueReader:
    """A reader of one or more items of a closed list ("Spanish and Portuguese"), when
    what follows the last one matches after."""

    def read(text: str, position: int, end: int) -> list[_Value]:
        values: list[_Value] = []
        cursor = _skip_spaces(text, position, end)
        while match := item.match(text, cursor, end):
            values.append(_Value(match.start(), match.end(), match.group()))
            joined = _LIST_JOIN.match(text, match.end(), end)
            if joined is None:
                break
            cursor = joined.end()
        if values and after is not None and not after.match(text, values[-1].end, end):
            return []
        return values

    return read


# What may follow a programming language named after "use": "I use C drive" is not C.
_AFTER_PROGRAMMING = re.compile(
    r"\s*(?:$|[,.!;:)(，。！；：（]|\s(?:for|at|and|in|on|with|daily|mostly|mainly|most"
    r"|professionally|every|these|nowadays|but|because|when|as|to)\b|[写做开编])",
    re.IGNORECASE,
)
_TIMEZONE = re.compile(
    r"(?:UTC|GMT)\s*[+\-−±]\s*\d{1,2}(?::?\d{2})?|(?:UTC|GMT)\b"
    r"|(?:Africa|America|Asia|Atlantic|Australia|Europe|Indian|Pacific)/[A-Z][A-Za-z_]+"
    r"(?:/[A-Z][A-Za-z_]+)?"
    r"|(?:PST|PDT|MST|MDT|CST|CDT|EST|EDT|AKST|HST|BST|CET|CEST|EET|EEST|WET|WEST|IST|JST"
    r"|KST|HKT|SGT|AEST|AEDT|ACST|AWST|NZST|NZDT|MSK)\b"
    r"|(?:Pacific|Eastern|Central|Mountain|Atlantic|Alaska|Hawaii|Central\s+European"
    r"|Eastern\s+European|Western\s+European|British|India|China|Japan|Korea|Singapore"
    r"|Beijing|Moscow)(?:\s+(?:Standard|Daylight|Summer))?\s+[Tt]ime"
    r"|[东西][一二三四五六七八九十]{1,2}区|北京时间"
)
_PRONOUNS = re.compile(
    r"(?:he|she|they|xe|ze|zie|ey|fae|it)\s*/\s*(?:him|her|them|xem|xir|hir|zir|em|faer"
    r"|its|hers|theirs|they|she|he)(?:\s*/\s*(?:his|hers|theirs|him|her|them|xyr|zirs))?",
    re.IGNORECASE,
)
_BIRTHDAY = re.compile(
    r"(?:(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?\s+\d{1,2}"
    r"(?:st|nd|rd|th)?|\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:Jan|Feb|Mar|Apr|May|Jun|Jul"
    r"|Aug|Sep|Oct|Nov|Dec)[a-z]*|\d{4}-\d{2}-\d{2}|(?:\d{1,2}|[一二三四五六七八九十]{1,2})月"
    r"(?:\d{1,2}|[一二三四五六七八九十]{1,3})[日号])(?!\w)"
)


def _matching(pattern: re.Pattern[str]) -> ValueReader:
    """A reader of a value that is whatever pattern matches."""

    def read(text: str, position: int, end: int) -> list[_Value]:
        match = pattern.match(text, _skip_spaces(text, position, end), end)
        return [_Value(match.start(), match.end(), match.group())] if match else []

    return read


_JOB_HEADS = _words(
    """engineer developer programmer designer teacher professor lecturer tutor nurse doctor
    physician surgeon dentist pharmacist therapist psychologist psychiatrist counselor
    counsellor lawyer attorney paralegal accountant auditor analyst scientist researcher
    student manager director consultant architect writer author journalist editor
    translator interpreter chef baker barista bartender waiter waitress cashier clerk
    driver pilot mechanic electrician plumber carpenter technician administrator sysadmin
    librarian artist illustrator animator photographer musician composer producer actor
    actress dancer farmer firefighter paramedic soldier veterinarian vet midwife caregiver
    carer nanny intern freelancer founder cofounder co-founder entrepreneur ceo cto cfo coo
    recruiter marketer salesperson realtor banker trader economist statistician
    mathematician physicist chemist biologist geologist historian linguist postdoc
    undergrad undergraduate specialist coordinator assistant advocate strategist planner
    tester copywriter homemaker housewife practitioner pm swe sde"""
)
_BAD_MODIFIERS = _words(
    """not no former ex ex- aspiring future wannabe would-be failed terrible bad awful lousy
    horrible good great decent amazing excellent huge big little bit total complete real
    true hobby amateur kind sort of the my your this that fan lot very really such"""
)
_JOB_AFTER = _words(
    """at for with in and who from so but by since based working on here there too now
    currently of specializing specialising mostly"""
)
_JOB_WORD = re.compile(rf"[{_LATIN}0-9+#-]+(?:\.[{_LATIN}0-9+#-]+)*")
_ZH_JOB_HEADS = (
    "工程师|程序员|开发者|设计师|老师|教师|医生|护士|律师|会计师|会计|产品经理|经理|研究员|科学家"
    "|作家|记者|编辑|厨师|司机|大学生|研究生|博士生|本科生|学生|教授|销售|分析师|顾问|建筑师"
    "|药剂师|翻译|摄影师|画家|演员|歌手|警察|公务员|农民|工人|店员|咨询师|架构师|运维|主管|总监"
    "|创业者|自由职业者|家庭主妇|全职妈妈|全职爸爸|实习生"
)
_ZH_JOB = re.compile(rf"[{_CJK}]{{0,8}}?(?:{_ZH_JOB_HEADS})")
_ZH_JOB_AFTER = re.compile(r"\s*(?:$|[，,。.!！；;：:、]|在|也|而且|但是|所以|不过|主要|平时|目前)")
_NOT_IN_ZH_JOB = re.compile(r"[的他她你它我]")


def _job_value(text: str, position: int, end: int) -> list[_Value]:
    """A job title that ends in a known head noun: "software engineer", "产品经理"."""
    position = _skip_spaces(text, position, end)
    zh = _ZH_JOB.match(text, position, end)
    if zh and _ZH_JOB_AFTER.match(text, zh.end(), end) and not _NOT_IN_ZH_JOB.search(zh.group()):
        return [_Value(zh.start(), zh.end(), zh.group())]
    words = list(itertools.islice(_spaced_words(text, position, end), 6))
    lowered = [word.group().casefold() for word in words]
    heads = [index for index, word in enumerate(lowered) if word in _JOB_HEADS]
    if not heads or heads[0] > 3:
        return []
    last = heads[0]
    while last + 1 < len(words) and lowered[last + 1] in _JOB_HEADS:
        last += 1
    if any(word in _BAD_MODIFIERS for word in lowered[:last]):
        return []
    if last + 1 < len(words) and lowered[last + 1] not in _JOB_AFTER:
        return []
    value_end = words[last].end()
    return [_Value(position, value_end, text[position:value_end])]


def _spaced_words(text: str, position: int, end: int) -> Iterator[re.Match[str]]:
    """The words from position on, while each is one space from the last."""
    cursor = position
    while match := _JOB_WORD.match(text, cursor, end):
        yield match
        if match.end() >= end or text[match.end()] != " ":
            return
        cursor = match.end() + 1


_ORG_WORD = re.compile(rf"[A-Z0-9][{_LATIN}0-9.'’&-]*|&|of|de|and(?= [A-Z][a-z])|für")
_ZH_ORG = re.compile(
    r"腾讯|阿里巴巴|阿里|百度|字节跳动|字节|华为|小米|京东|美团|网易|拼多多|滴滴|微软|谷歌|苹果|亚马逊"
    rf"|[{_CJK}]{{2,10}}?(?:公司|集团|银行|大学|学院|医院|学校|中学|小学|研究所|研究院|工作室"
    r"|事务所|科技)"
)


def _org_value(text: str, position: int, end: int) -> list[_Value]:
    """An organisation: capitalised words ("Deutsche Bahn", "the Mayo Clinic"), or a known
    or suffixed Chinese name ("腾讯", "招商银行")."""
    position = _skip_spaces(text, position, end)
    zh = _ZH_ORG.match(text, position, end)
    if zh:
        return [] if zh.group()[0] in "一这那家" else [_Value(zh.start(), zh.end(), zh.group())]
    value = _capitalised(text, position, end, _ORG_WORD, _NOT_ORGS)
    return [value] if value else []


_THING_END = re.compile(
    r"[.!?;:()\[\]。！？；：（）\n，]|\s(?:because|but|since|when|whenever|as|so|though"
    r"|although|if|especially|which|that|more\s+than|than|like|who|where|while|unless|lol"
    r"|haha)\b|因为|所以|但是|不过|可是|而且"
    # Another statement of the user's own: "I hate meetings and I love standups".
    r"|,?\s(?:and|but|or)\s+(?=i\b|i['’]|my\b)"
    # A comma ends the phrase, unless a short item and another join follow it.
    r"|,\s*(?![\w-]+(?:\s[\w-]+){0,2}\s*(?:,|and\b|or\b|$))",
    re.IGNORECASE,
)
_BAD_THING_START = _words(
    """it it's its this that these those you your yours u ur ya him her them us my myself
    yourself the a an to when how what where why who whom being having getting doing all
    some any everything anything nothing everyone someone somebody one both each there
    here lots lot much many more most less so such too very really not no out late before
    after until enough well properly right anymore again"""
)
_BAD_ZH_THING_START = re.compile(
    r"^(?:[你您他她它这那上过了被的吗]|自己|什么|谁|一下|一点|点|(?:早|午|晚)?饭$|东西|早餐|午餐|晚餐)"
)
_THING_TRAILERS = re.compile(
    r"(?:\s+(?:a\s+lot|very\s+much|so\s+much|too|as\s+well|also|better|the\s+most|anymore"
    r"|at\s+all|though|either|anyway|in\s+general|on\s+weekends|a\s+bit))+$|了$|的$",
    re.IGNORECASE,
)
_CJK_CHAR = re.compile(rf"[{_CJK}]")


def _things_value(text: str, position: int, end: int) -> list[_Value]:
    """The things liked or avoided: "hiking and birdwatching", "爬山和游泳"; [] when any
    item is not a plain noun phrase ("it", "this answer", "to think", "你的回答")."""
    position = _skip_spaces(text, position, end)
    stop = _THING_END.search(text, position, end)
    phrase = text[position : stop.start() if stop else end].rstrip(" ,")
    values: list[_Value] = []
    cursor = position
    for part in _LIST_JOIN.split(phrase):
        part_start = text.find(part, cursor) if part else cursor
        cursor = part_start + len(part)
        item = _THING_TRAILERS.sub("", part.strip())
        if not _plain_thing(item):
            return []
        item_start = part_start + len(part) - len(part.lstrip())
        values.append(_Value(item_start, item_start + len(item), item))
    return values


def _plain_thing(item: str) -> bool:
    if _CJK_CHAR.match(item):
        return 1 <= len(item) <= 12 and not _BAD_ZH_THING_START.match(item)
    words = item.split()
    if len(item) < 2 or not 1 <= len(words) <= 4:
        return False
    first = words[0].casefold()
    return first not in _BAD_THING_START and not first.endswith(("'s", "’s"))


def _eaten(reader: ValueReader) -> ValueReader:
    """reader, with a leading 吃 or 喝 dropped from each value: "吃甜食" is about 甜食."""

    def read(text: str, position: int, end: int) -> list[_Value]:
        return [
            _Value(value.start + 1, value.end, value.value[1:])
            if value.value[:1] in ("吃", "喝") and len(value.value) > 1
            else value
            for value in reader(text, position, end)
        ]

    return read


_NOT_CJK_NAMES = _words(
    """外卖 出租车 救护车 起床 一声 什么 啥 谁 醒 车 小白 小孩 老师 老板 老人 老手 老乡 老大
    老外 阿姨 老婆 老公 小弟 小妹 小姐"""
)
# Verbs and particles that no name holds: "我叫车去机场" orders a car.
_NOT_IN_CJK_NAME = re.compile(r"[去来过到起醒了的吗呢吧]")
_ZH_NAME = re.compile(
    rf"[{_CJK}·]{{2,4}}?(?=$|[，,。.!！；;：:\s)（(]|[是在住来今年和也我但因所就吧啊呀哦])"
)


def _zh_name_value(text: str, position: int, end: int) -> list[_Value]:
    """A Chinese name, or a Latin one in a mixed message ("我叫Kevin")."""
    position = _skip_spaces(text, position, end)
    cjk = _ZH_NAME.match(text, position, end)
    if cjk:
        name = cjk.group()
        if (
            name in _NOT_CJK_NAMES
            or name[0] in "了他她你它我这那不没什啥谁哪怎车人"
            or _NOT_IN_CJK_NAME.search(name)
        ):
            return []
        return [_Value(cjk.start(), cjk.end(), name)]
    latin = _latin_name(text, position, end, strict=True)
    return [latin] if latin else []


# -- rules ---------------------------------------------------------------------------------

Build = Callable[[str, re.Match[str], int], list[Candidate]]


@dataclass(frozen=True, slots=True)
class _Rule:
    """A self-statement: its words up to the value, the same without the subject for a
    clause that carries it on (Chinese only), and how to make candidates of a match."""

    pattern: re.Pattern[str]
    carried: re.Pattern[str] | None
    build: Build


def _rule(pattern: str, build: Build, *, carries: bool = False) -> _Rule:
    """A rule; carries when its pattern starts with 我 and the clause may leave it out."""
    carried = re.compile(pattern.removeprefix("我"), re.IGNORECASE) if carries else None
    return _Rule(re.compile(pattern, re.IGNORECASE), carried, build)


def _made(kind: str, template: str, value: _Value, match: re.Match[str]) -> Candidate:
    slot = kind if kind in SLOTS else None
    return Candidate(
        template.format(value.value), slot, value.value, (match.start(), value.end), kind
    )


def _each(kind: str, template: str, reader: ValueReader) -> Build:
    """A candidate of kind for each value read after the match."""

    def build(text: str, match: re.Match[str], end: int) -> list[Candidate]:
        return [_made(kind, template, value, match) for value in reader(text, match.end(), end)]

    return build


def _fixed(kind: str, template: str, value: str) -> Build:
    """One candidate whose value the words themselves say ("我吃素": 素食)."""

    def build(text: str, match: re.Match[str], end: int) -> list[Candidate]:
        return [_made(kind, template, _Value(match.start(), match.end(), value), match)]

    return build


_AT_ORG = re.compile(r"\s+(?:at|for|with)\s+")
_AS_JOB = re.compile(r"\s+as\s+(?:an?\s+)?")


def _job_then_employer(job_template: str) -> Build:
    """ "I'm a nurse at St Mary's": the job, and the employer when one follows (not a
    student's school)."""

    def build(text: str, match: re.Match[str], end: int) -> list[Candidate]:
        jobs = _job_value(text, match.end(), end)
        if not jobs:
            return []
        made = [_made(Slot.JOB, job_template, jobs[0], match)]
        follow = _AT_ORG.match(text, jobs[0].end, end)
        if follow and not jobs[0].value.casefold().endswith("student"):
            made += [
                _made(Slot.EMPLOYER, "Works at {}", org, match)
                for org in _org_value(text, follow.end(), end)
            ]
        return made

    return build


def _employer_then_job(text: str, match: re.Match[str], end: int) -> list[Candidate]:
    """ "I work at Google as a data scientist": the employer, and the job when one follows."""
    orgs = _org_value(text, match.end(), end)
    if not orgs:
        return []
    made = [_made(Slot.EMPLOYER, "Works at {}", orgs[0], match)]
    follow = _AS_JOB.match(text, orgs[0].end, end)
    if follow:
        made += [
            _made(Slot.JOB, "Works as {}", job, match)
            for job in _job_value(text, follow.end(), end)
        ]
    return made


def _zh_job_at(text: str, match: re.Match[str], end: int) -> list[Candidate]:
    """ "我在腾讯当产品经理": the job, and the employer when it is named."""
    jobs = _job_value(text, match.end(), end)
    if not jobs:
        return []
    made = [_made(Slot.JOB, "是{}", jobs[0], match)]
    org = match.group("org")
    named = _org_value(org, 0, len(org))
    if named and named[0].end == len(org):
        value = _Value(match.start("org"), match.end("org"), named[0].value)
        made.append(_made(Slot.EMPLOYER, "在{}工作", value, match))
    return made


_ZH_PLACES = _words(
    """北京 上海 广州 深圳 杭州 南京 成都 重庆 武汉 西安 天津 苏州 长沙 郑州 青岛 厦门 大连 沈阳
    哈尔滨 昆明 合肥 福州 济南 宁波 无锡 东莞 佛山 珠海 香港 澳门 台北 台湾 广东 四川 湖南 湖北
    浙江 江苏 山东 福建 河南 河北 东北 新加坡 东京 大阪 首尔 纽约 伦敦 巴黎 柏林 悉尼 墨尔本 多伦多
    温哥华 旧金山 洛杉矶 西雅图 中国 美国 英国 日本 韩国 德国 法国 加拿大 澳大利亚 国外 海外
    Beijing Shanghai Shenzhen Guangzhou Hangzhou Chengdu London Berlin Paris Tokyo
    Singapore Sydney Toronto Vancouver Seattle NYC"""
)
_ZH_PLACE_SUFFIX = re.compile(r"[省市区县镇州]$")


def _is_zh_place(where: str) -> bool:
    return where in _ZH_PLACES or bool(_ZH_PLACE_SUFFIX.search(where))


def _zh_work_place(text: str, match: re.Match[str], end: int) -> list[Candidate]:
    """ "我在腾讯工作" names an employer, "我在北京工作" a place; anything else is left be."""
    where = match.group("where").strip()
    value = _Value(match.start("where"), match.start("where") + len(where), where)
    if match.group("verb") in ("生活", "定居", "住"):
        return [_made(Slot.LOCATION, "在{}生活", value, match)] if _is_zh_place(where) else []
    if _is_zh_place(where):
        return [_made(Slot.LOCATION, "在{}工作", value, match)]
    org = _org_value(where, 0, len(where))
    if org and org[0].end == len(where):
        return [_made(Slot.EMPLOYER, "在{}工作", value, match)]
    return []


def _zh_hometown(text: str, match: re.Match[str], end: int) -> list[Candidate]:
    """ "我是北京人": a hometown, when 北京 is a place."""
    where = match.group("where")
    if not _is_zh_place(where):
        return []
    return [_made(Slot.HOMETOWN, "是{}人", _Value(match.start("where"), match.end(), where), match)]


def _favourite(template: str) -> Build:
    """ "My favourite fruit is mango", "我最喜欢的水果是芒果": a like."""

    def build(text: str, match: re.Match[str], end: int) -> list[Candidate]:
        what = match.group("what")
        return [
            _made(LIKES, template.format(what, "{}"), value, match)
            for value in _things_value(text, match.end(), end)
        ]

    return build


# Adverbs that may sit between "I" (or 我) and the verb without changing the fact.
_ADV = (
    r"(?:(?:also|really|actually|currently|now|still|mostly|mainly|usually|primarily"
    r"|generally|just|do|absolutely|totally|genuinely|definitely|truly|honestly|basically"
    r"|personally|professionally|typically|normally|even|already|recently)\s+){0,2}"
)
_IM = r"(?:i['’]?m|i\s+am)\s+"
_ZH_ADV = r"(?:也|都|还|现在|目前|一直|平时|平常|其实|本人|真的|确实|主要|一般|通常|已经|从小)*"
_ZH_DEGREE = r"(?:很|非常|特别|超|超级|挺|蛮|真的|最|十分|相当|比较|还挺)?"
_SPOKEN = _listed(_LANGUAGE)
_CODED = _listed(_PROGRAMMING, _AFTER_PROGRAMMING)
_EATEN_THINGS = _eaten(_things_value)
_DIETS = re.compile(r"vegetarian|vegan|pescatarian|pescetarian", re.IGNORECASE)
_REPLY = r"(?:reply|answer|respond|talk\s+to\s+me|write\s+to\s+me)(?:\s+to\s+me)?\s+in\s+"
_WORK_IN = r"(?:work|code|program|develop|write\s+code|build\s+things)"

_NAMED = _each(Slot.NAME, "Is named {}", _name_value(strict=False))
_CALLED = _each(Slot.PREFERRED_NAME, "Prefers to be called {}", _name_value(strict=True))
_PRONOUNS_USED = _each(Slot.PRONOUNS, "Uses {} pronouns", _matching(_PRONOUNS))
_TIME_ZONE = _each(Slot.TIMEZONE, "Time zone is {}", _matching(_TIMEZONE))
_LIVES = _each(Slot.LOCATION, "Lives in {}", _place_value)
_REPLIES_IN = _each(Slot.LANGUAGE, "Wants replies in {}", _SPOKEN)
_WORKS_IN = _each(PROGRAMMING, "Works in {}", _CODED)

_ENGLISH_RULES = [
    _rule(r"my\s+(?:(?:first|full|real|given)\s+)?name\s*(?:is|['’]s)\s+", _NAMED),
    _rule(r"my\s+nick\s*name\s+is\s+", _CALLED),
    _rule(
        r"(?:(?:you\s+can|you\s+may|please|just|feel\s+free\s+to|everyone|everybody|people"
        r"|friends|my\s+friends)\s+)*calls?\s+me\s+",
        _CALLED,
    ),
    _rule(r"i\s+(?:usually\s+|mostly\s+)?go\s+by\s+(?=\S+\s*/)", _PRONOUNS_USED),
    _rule(r"i\s+(?:usually\s+|mostly\s+)?go\s+by\s+", _CALLED),
    _rule(rf"i\s+{_ADV}prefer\s+(?:to\s+be\s+called|being\s+called)\s+", _CALLED),
    _rule(r"my\s+pronouns\s+are\s+", _PRONOUNS_USED),
    _rule(r"i\s+use\s+(?=\S+\s*/\s*\S+\s+pronouns)", _PRONOUNS_USED),
    _rule(r"my\s+time\s*zone\s+is\s+", _TIME_ZONE),
    _rule(rf"{_IM}(?:in|on)\s+(?:the\s+)?(?={_TIMEZONE.pattern})", _TIME_ZONE),
    _rule(
        r"my\s+birthday\s+is\s+(?:on\s+)?|i\s+was\s+born\s+on\s+",
        _each(Slot.BIRTHDAY, "Birthday is {}", _matching(_BIRTHDAY)),
    ),
    _rule(rf"i\s+{_ADV}(?:live|reside)\s+in\s+|i(?:['’]ve|\s+have)\s+{_ADV}lived\s+in\s+", _LIVES),
    _rule(rf"{_IM}{_ADV}(?:living|based|located)\s+(?:in|out\s+of)\s+", _LIVES),
    _rule(rf"i\s+{_ADV}moved\s+to\s+", _LIVES),
    _rule(
        rf"(?:{_IM}(?:originally\s+)?from|i\s+(?:originally\s+)?come\s+from)\s+",
        _each(Slot.HOMETOWN, "Is from {}", _place_value),
    ),
    _rule(rf"{_IM}(?P<where>[{_CJK}]{{2,5}}?)人(?![{_CJK}])", _zh_hometown),
    _rule(r"i\s+grew\s+up\s+in\s+", _each(Slot.HOMETOWN, "Grew up in {}", _place_value)),
    _rule(rf"(?:please\s+)?always\s+{_REPLY}", _REPLIES_IN),
    _rule(rf"from\s+now\s+on\s*,?\s+(?:please\s+)?(?:always\s+)?{_REPLY}", _REPLIES_IN),
    _rule(rf"(?:please\s+)?{_REPLY}(?=\S+\s+from\s+now\s+on)", _REPLIES_IN),
    _rule(rf"i\s+{_ADV}prefer\s+(?:replies|answers|responses)\s+in\s+", _REPLIES_IN),
    _rule(rf"i\s+{_ADV}speak\s+(?:fluent\s+)?", _each(SPEAKS, "Speaks {}", _SPOKEN)),
    _rule(rf"{_IM}{_ADV}fluent\s+in\s+", _each(SPEAKS, "Speaks {}", _SPOKEN)),
    _rule(
        r"my\s+(?:native|first|mother)\s+(?:language|tongue)\s+is\s+"
        rf"|{_IM}a\s+native\s+(?=(?:{_LANGUAGE_NAMES})\s+speaker)",
        _each(SPEAKS, "Native language is {}", _SPOKEN),
    ),
    _rule(
        rf"i\s+{_ADV}{_WORK_IN}\s+(?:mostly\s+|mainly\s+)?(?:in|with)\s+(?=(?:{_PROGRAMMING_NAMES}))",
        _WORKS_IN,
    ),
    _rule(rf"i\s+{_ADV}(?:use|write)\s+(?=(?:{_PROGRAMMING_NAMES}))", _WORKS_IN),
    _rule(rf"i\s+{_ADV}work\s+as\s+(?:an?\s+)?", _job_then_employer("Works as {}")),
    _rule(rf"i\s+{_ADV}work\s+(?:at|for)\s+", _employer_then_job),
    _rule(
        rf"(?:{_IM}|i['’]ve\s+been\s+|i\s+have\s+been\s+){_ADV}(?:an?\s+)?(?:strict\s+)?"
        r"(?=(?:vegetarian|vegan|pescatarian|pescetarian)\b)"
        r"|i\s+(?:went|turned)\s+(?=(?:vegetarian|vegan)\b)",
        _each(Slot.DIET, "Is {}", _matching(_DIETS)),
    ),
    _rule(
        rf"{_IM}{_ADV}(?=(?:lactose|gluten)[\s-]intolerant|(?:a\s+)?c(?:o)?eliac\b)(?:a\s+)?",
        _each(
            Slot.DIET,
            "Is {}",
            _matching(re.compile(r"(?:lactose|gluten)[\s-]intolerant|c(?:o)?eliac", re.I)),
        ),
    ),
    _rule(
        r"i\s+(?:keep|eat)\s+(?=(?:kosher|halal)\b)",
        _each(Slot.DIET, "Eats {}", _matching(re.compile(r"kosher|halal", re.I))),
    ),
    _rule(rf"{_IM}{_ADV}allergic\s+to\s+", _each(Slot.DIET, "Is allergic to {}", _things_value)),
    _rule(
        rf"i\s+{_ADV}(?:do\s+not|don['’]?t|never|can['’]?t|cannot|can\s+not)\s+{_ADV}eat\s+",
        _each(Slot.DIET, "Does not eat {}", _things_value),
    ),
    _rule(
        rf"i\s+{_ADV}(?:do\s+not|don['’]?t|never)\s+drink\s+",
        _each(Slot.DIET, "Does not drink {}", _things_value),
    ),
    _rule(
        rf"i\s+{_ADV}(?:do\s+not|don['’]?t|never)\s+{_ADV}(?:like|enjoy)\s+"
        rf"|i\s+{_ADV}(?:hate|dislike|detest|loathe|can['’]?t\s+stand|cannot\s+stand)\s+"
        rf"|{_IM}not\s+(?:a\s+)?(?:big\s+|huge\s+)?fan\s+of\s+",
        _each(DISLIKES, "Dislikes {}", _things_value),
    ),
    _rule(
        rf"i\s+{_ADV}(?:love|like|enjoy|adore)\s+"
        rf"|{_IM}{_ADV}(?:a\s+)?(?:(?:big|huge|great)\s+)?fan\s+of\s+|{_IM}{_ADV}into\s+",
        _each(LIKES, "Likes {}", _things_value),
    ),
    _rule(
        r"my\s+favou?rite\s+(?P<what>[a-z]+(?:\s+[a-z]+)?)\s+is\s+",
        _favourite("Favourite {} is {}"),
    ),
    _rule(rf"{_IM}{_ADV}an?\s+", _job_then_employer("Is a {}")),
    _rule(_IM, _each(Slot.NAME, "Is named {}", _name_value(strict=True))),
]

_ZH_NAMED = _each(Slot.NAME, "名叫{}", _zh_name_value)
_ZH_CALLED = _each(Slot.PREFERRED_NAME, "希望被叫作{}", _zh_name_value)
_ZH_TIME_ZONE = _each(Slot.TIMEZONE, "时区是{}", _matching(_TIMEZONE))
_ZH_LIVES = _each(Slot.LOCATION, "住在{}", _place_value)
_ZH_DIET_IS = rf"我{_ZH_ADV}是(?:一个|一名|一位|个|名)?"

_CHINESE_RULES = [
    _rule(r"我的?名字(?:是|叫)\s*", _ZH_NAMED),
    _rule(r"我叫\s*", _ZH_NAMED),
    _rule(rf"我是\s*(?=[小老阿][{_CJK}](?:$|[，,。.!！；;]))", _ZH_NAMED),
    _rule(r"我的(?:昵称|小名|外号|网名)是\s*", _ZH_CALLED),
    _rule(r"(?:(?:你|您)?(?:可以|就|请)*|(?:大家|朋友们?|同事们?|别人)都?)叫我\s*", _ZH_CALLED),
    _rule(
        r"我的\s*(?:代词|人称代词|pronouns)\s*是\s*",
        _each(Slot.PRONOUNS, "代词是{}", _matching(_PRONOUNS)),
    ),
    _rule(r"我的时区是\s*", _ZH_TIME_ZONE),
    _rule(
        rf"我{_ZH_ADV}在\s*(?=[东西][一二三四五六七八九十]{{1,2}}区)", _ZH_TIME_ZONE, carries=True
    ),
    _rule(r"我的生日是\s*", _each(Slot.BIRTHDAY, "生日是{}", _matching(_BIRTHDAY))),
    _rule(rf"我{_ZH_ADV}住在?\s*", _ZH_LIVES, carries=True),
    _rule(rf"我{_ZH_ADV}搬到了?\s*", _ZH_LIVES, carries=True),
    _rule(rf"我{_ZH_ADV}来自\s*", _each(Slot.HOMETOWN, "来自{}", _place_value), carries=True),
    _rule(r"我的?老家(?:是|在)\s*", _each(Slot.HOMETOWN, "老家在{}", _place_value)),
    _rule(
        rf"我{_ZH_ADV}是(?P<where>[{_CJK}]{{2,5}}?)人(?=$|[，,。.!！；;])",
        _zh_hometown,
        carries=True,
    ),
    _rule(
        r"(?:以后|今后|从现在起)?(?:请)?(?:都|一直)?用\s*(?=\S{1,4}\s*(?:回答|回复|和我(?:聊|交流)))",
        _each(Slot.LANGUAGE, "希望用{}回答", _SPOKEN),
    ),
    _rule(rf"我{_ZH_ADV}(?:会说|会讲|说|讲)\s*", _each(SPEAKS, "会说{}", _SPOKEN), carries=True),
    _rule(
        r"我的?\s*(?:母语|native\s+language|mother\s+tongue)\s*是\s*",
        _each(SPEAKS, "母语是{}", _SPOKEN),
    ),
    _rule(
        rf"我{_ZH_ADV}(?:用|写)\s*(?=(?:{_PROGRAMMING_NAMES}))",
        _each(PROGRAMMING, "用{}编程", _CODED),
        carries=True,
    ),
    _rule(
        rf"{_ZH_DIET_IS}(?:纯|严格的?)素食(?:者|主义者)",
        _fixed(Slot.DIET, "是纯素食者", "纯素"),
        carries=True,
    ),
    _rule(
        rf"{_ZH_DIET_IS}素食(?:者|主义者)|我{_ZH_ADV}只?吃素",
        _fixed(Slot.DIET, "是素食者", "素食"),
        carries=True,
    ),
    _rule(
        rf"我{_ZH_ADV}有?乳糖不耐(?:受|症)",
        _fixed(Slot.DIET, "乳糖不耐受", "乳糖不耐受"),
        carries=True,
    ),
    _rule(
        rf"我{_ZH_ADV}(?:不|从不|从来不|不能)吃\s*",
        _each(Slot.DIET, "不吃{}", _things_value),
        carries=True,
    ),
    _rule(
        rf"我{_ZH_ADV}(?:不|从不|从来不|不能)喝\s*",
        _each(Slot.DIET, "不喝{}", _things_value),
        carries=True,
    ),
    _rule(
        rf"我{_ZH_ADV}对\s*",
        _each(Slot.DIET, "对{}过敏", _matching(re.compile(r"[^，,。\s]{1,10}?(?=\s*过敏)"))),
        carries=True,
    ),
    _rule(
        rf"我{_ZH_ADV}在\s*(?P<org>[^，,。]{{2,20}}?)\s*(?:当|做|担任)(?:一名|一个)?\s*",
        _zh_job_at,
        carries=True,
    ),
    _rule(
        rf"我{_ZH_ADV}在\s*(?P<where>[{_CJK}{_LATIN} .&-]{{2,20}}?)\s*"
        r"(?P<verb>工作|上班|生活|定居|住)",
        _zh_work_place,
        carries=True,
    ),
    _rule(
        rf"我{_ZH_ADV}是(?:一名|一个|一位|个|名)?\s*",
        _each(Slot.JOB, "是{}", _job_value),
        carries=True,
    ),
    _rule(r"我的(?:工作|职业)是\s*", _each(Slot.JOB, "是{}", _job_value)),
    _rule(rf"我最喜欢的(?P<what>[{_CJK}]{{1,4}}?)是\s*", _favourite("最喜欢的{}是{}")),
    _rule(
        rf"我{_ZH_ADV}{_ZH_DEGREE}(?:讨厌|不喜欢|受不了|厌恶|反感|不爱)\s*",
        _each(DISLIKES, "不喜欢{}", _EATEN_THINGS),
        carries=True,
    ),
    _rule(
        rf"我{_ZH_ADV}{_ZH_DEGREE}(?:喜欢|爱|热爱|喜爱)\s*",
        _each(LIKES, "喜欢{}", _EATEN_THINGS),
        carries=True,
    ),
]

_RULES = _ENGLISH_RULES + _CHINESE_RULES


# -- the model-based part ------------------------------------------------------------------

_MODEL_SYSTEM = (
    "You read one message a user wrote and list the durable facts the user states about "
    "themselves in it. Answer with a JSON array only, one object per fact: "
    '{"fact": "<short phrase about the user>", "slot": "<kind>"}, where kind is one of '
    "name, preferred_name, location, hometown, language, employer, job, diet, pronouns, "
    "timezone, birthday, likes, dislikes, speaks, programming, or null. "
    "Questions, other people, moods of the moment, plans and hypotheticals state no fact: "
    "answer [] for them."
)
# One message with facts and one without, so that even a small model sees both answers.
_MODEL_EXAMPLES: list[ChatMessage] = [
    {"role": "user", "content": "I'm Sam and I live in Oslo. What should I wear for a run?"},
    {
        "role": "assistant",
        "content": '[{"fact": "Is named Sam", "slot": "name"}, '
        '{"fact": "Lives in Oslo", "slot": "location"}]',
    },
    {"role": "user", "content": "My brother is a doctor and I'm tired."},
    {"role": "assistant", "content": "[]"},
]
_MODEL_PARAMS = GenerationParams(max_tokens=256, temperature=0.0)
MAX_MODEL_FACTS = 8
MAX_FACT_CHARS = 120


def extraction_messages(message: str) -> list[ChatMessage]:
    """The prompt ModelExtractor sends for message: instructions, two examples, then the
    user's own words (code and quotes left out) as the last user message."""
    words = " ".join(visible_text(message).split())
    return [
        {"role": "system", "content": _MODEL_SYSTEM},
        *_MODEL_EXAMPLES,
        {"role": "user", "content": words},
    ]


class ModelExtractor:
    """The optional model-based extractor, for models capable enough (off for the embedded
    135M model). The model proposes facts as JSON; only facts whose key words all appear
    in the message are kept, so a fact the model made up is never proposed. Failures of
    the backend or of the JSON are logged and yield no candidates."""

    def __init__(self, backend: Backend, params: GenerationParams = _MODEL_PARAMS) -> None:
        self.backend = backend
        self.params = params

    async def extract(self, message: str) -> list[Candidate]:
        text = visible_text(message)
        if len(message) > MAX_MESSAGE_CHARS or not text.strip():
            return []
        try:
            reply = await Generation(self.backend, extraction_messages(message), self.params).wait()
        except BackendError as error:
            log.warning("the memory extractor's model failed: %s", error)
            return []
        items = first_json_array(reply)
        if items is None:
            log.warning("the memory extractor's model gave no JSON array: %.200r", reply)
            return []
        found = [grounded(item, text) for item in items[:MAX_MODEL_FACTS]]
        return _unique([candidate for candidate in found if candidate is not None])


def first_json_array(reply: str) -> list[Any] | None:
    """The first JSON array in a model's reply (inside prose or a code fence), or None."""
    decoder = json.JSONDecoder()
    for match in re.finditer(r"\[", reply):
        try:
            value, _ = decoder.raw_decode(reply, match.start())
        except json.JSONDecodeError:
            continue
        if isinstance(value, list):
            return value
    return None


_FACT_WORD = re.compile(rf"[{_LATIN}0-9][{_LATIN}0-9+#'’./-]*|[{_CJK}]+")
# Words of a fact that say what kind of fact it is, not what the user said.
_GENERIC_WORDS = _words(
    """i user user's the a an is are am was be been named name called call calls prefers
    prefer preferred to lives live living in at for from of on with works work working as
    speaks speak speaking native language likes like loves love enjoys enjoy dislikes
    dislike hates hate does doesn't not don't eat eats drink drinks allergic uses use
    pronouns pronoun time zone timezone their his her they he she and or based job
    employer diet location hometown favorite favourite fact slot codes code programs
    program writes write replies answers has have birthday born grew up
    originally comes come moved speaker fluent mother tongue first"""
)
_ZH_GENERIC = re.compile(
    r"用户|名字|名叫|叫作|叫做|叫|是|住在|住|在|来自|不喜欢|喜欢|讨厌|工作|上班|会说|说|母语|的|一名"
    r"|一个|一位|对|过敏|不吃|吃|不喝|时区|代词|希望|被|称为|职业|生活|他们|他|她|最|很|非常|编程|用"
)


def grounded(item: object, text: str) -> Candidate | None:
    """A candidate of one item of the model's answer, or None when it is malformed or
    any of its key words is not in the message's text."""
    if not isinstance(item, dict) or not isinstance(item.get("fact"), str):
        return None
    fact = " ".join(item["fact"].split())
    if not fact or len(fact) > MAX_FACT_CHARS:
        return None
    spans = [_find(word, text) for word in _key_words(fact)]
    if not spans or any(span is None for span in spans):
        return None
    found = [span for span in spans if span is not None]
    start, end = min(s for s, _ in found), max(e for _, e in found)
    if end - start > 60:
        start, end = found[0]
    kind = item.get("slot")
    kind = kind if isinstance(kind, str) and kind in KINDS else ""
    slot = kind if kind in SLOTS else None
    return Candidate(fact, slot, text[start:end], (start, end), kind)


def _key_words(fact: str) -> list[str]:
    keys: list[str] = []
    for word in _FACT_WORD.findall(fact):
        if _CJK_CHAR.match(word):
            keys += [part for part in _ZH_GENERIC.split(word) if part]
        else:
            word = word.strip(".'’-").casefold()
            if word and word not in _GENERIC_WORDS:
                keys.append(word)
    return keys


def _find(word: str, text: str) -> tuple[int, int] | None:
    """Where word is in text: whole Chinese words, Latin words at a word's start (their
    stem when long: "vegetarians" grounds "vegetarian")."""
    if _CJK_CHAR.match(word):
        position = text.find(word)
        return (position, position + len(word)) if position >= 0 else None
    stem = word if len(word) <= 5 else word[: len(word) - 2]
    ending = r"(?![\w])" if len(word) <= 3 else ""
    match = re.search(rf"(?<![\w]){re.escape(stem)}{ending}", text, re.IGNORECASE)
    if match is None:
        return None
    whole = re.compile(r"[\w+#'’-]*").match(text, match.end())
    return match.start(), whole.end() if whole else match.end()
