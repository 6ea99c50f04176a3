"""The memory extractor's rules, English and Chinese: each names the words of one kind of
self-statement ("I live in", "我叫") and how to make Candidates of the value that follows
them (read by values.py). extract.py tries them in order where a statement may start; the
first rule that makes any candidate there wins, so the more specific come first."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from chatapp.core.memory.candidate import (
    CJK,
    DISLIKES,
    LATIN,
    LIKES,
    PROGRAMMING,
    SPEAKS,
    Candidate,
    words,
)
from chatapp.core.memory.slots import SLOTS, Slot
from chatapp.core.memory.values import (
    AFTER_PROGRAMMING,
    BIRTHDAY,
    LANGUAGE,
    LANGUAGE_NAMES,
    PROGRAMMING_LANGUAGE,
    PROGRAMMING_NAMES,
    PRONOUNS,
    TIMEZONE,
    Value,
    ValueReader,
    eaten,
    job_value,
    listed,
    matching,
    name_value,
    org_value,
    place_value,
    things_value,
    zh_name_value,
)

Build = Callable[[str, re.Match[str], int], list[Candidate]]


@dataclass(frozen=True, slots=True)
class Rule:
    """A self-statement: its words up to the value, the same without the subject for a
    clause that carries it on (Chinese only), and how to make candidates of a match."""

    pattern: re.Pattern[str]
    carried: re.Pattern[str] | None
    build: Build


def _rule(pattern: str, build: Build, *, carries: bool = False) -> Rule:
    """A rule; carries when its pattern starts with 我 and the clause may leave it out."""
    carried = re.compile(pattern.removeprefix("我"), re.IGNORECASE) if carries else None
    return Rule(re.compile(pattern, re.IGNORECASE), carried, build)


def _made(kind: str, template: str, value: Value, match: re.Match[str]) -> Candidate:
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
        return [_made(kind, template, Value(match.start(), match.end(), value), match)]

    return build


_AT_ORG = re.compile(r"\s+(?:at|for|with)\s+")
_AS_JOB = re.compile(r"\s+as\s+(?:an?\s+)?")


def _job_then_employer(job_template: str) -> Build:
    """ "I'm a nurse at St Mary's": the job, and the employer when one follows (not a
    student's school)."""

    def build(text: str, match: re.Match[str], end: int) -> list[Candidate]:
        jobs = job_value(text, match.end(), end)
        if not jobs:
            return []
        made = [_made(Slot.JOB, job_template, jobs[0], match)]
        follow = _AT_ORG.match(text, jobs[0].end, end)
        if follow and not jobs[0].value.casefold().endswith("student"):
            made += [
                _made(Slot.EMPLOYER, "Works at {}", org, match)
                for org in org_value(text, follow.end(), end)
            ]
        return made

    return build


def _employer_then_job(text: str, match: re.Match[str], end: int) -> list[Candidate]:
    """ "I work at Google as a data scientist": the employer, and the job when one follows."""
    orgs = org_value(text, match.end(), end)
    if not orgs:
        return []
    made = [_made(Slot.EMPLOYER, "Works at {}", orgs[0], match)]
    follow = _AS_JOB.match(text, orgs[0].end, end)
    if follow:
        made += [
            _made(Slot.JOB, "Works as {}", job, match) for job in job_value(text, follow.end(), end)
        ]
    return made


def _zh_job_at(text: str, match: re.Match[str], end: int) -> list[Candidate]:
    """ "我在腾讯当产品经理": the job, and the employer when it is named."""
    jobs = job_value(text, match.end(), end)
    if not jobs:
        return []
    made = [_made(Slot.JOB, "是{}", jobs[0], match)]
    org = match.group("org")
    named = org_value(org, 0, len(org))
    if named and named[0].end == len(org):
        value = Value(match.start("org"), match.end("org"), named[0].value)
        made.append(_made(Slot.EMPLOYER, "在{}工作", value, match))
    return made


_ZH_PLACES = words(
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
    value = Value(match.start("where"), match.start("where") + len(where), where)
    if match.group("verb") in ("生活", "定居", "住"):
        return [_made(Slot.LOCATION, "在{}生活", value, match)] if _is_zh_place(where) else []
    if _is_zh_place(where):
        return [_made(Slot.LOCATION, "在{}工作", value, match)]
    org = org_value(where, 0, len(where))
    if org and org[0].end == len(where):
        return [_made(Slot.EMPLOYER, "在{}工作", value, match)]
    return []


def _zh_hometown(text: str, match: re.Match[str], end: int) -> list[Candidate]:
    """ "我是北京人": a hometown, when 北京 is a place."""
    where = match.group("where")
    if not _is_zh_place(where):
        return []
    return [_made(Slot.HOMETOWN, "是{}人", Value(match.start("where"), match.end(), where), match)]


def _favourite(template: str) -> Build:
    """ "My favourite fruit is mango", "我最喜欢的水果是芒果": a like."""

    def build(text: str, match: re.Match[str], end: int) -> list[Candidate]:
        what = match.group("what")
        return [
            _made(LIKES, template.format(what, "{}"), value, match)
            for value in things_value(text, match.end(), end)
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
_SPOKEN = listed(LANGUAGE)
_CODED = listed(PROGRAMMING_LANGUAGE, AFTER_PROGRAMMING)
_EATEN_THINGS = eaten(things_value)
_DIETS = re.compile(r"vegetarian|vegan|pescatarian|pescetarian", re.IGNORECASE)
_REPLY = r"(?:reply|answer|respond|talk\s+to\s+me|write\s+to\s+me)(?:\s+to\s+me)?\s+in\s+"
_WORK_IN = r"(?:work|code|program|develop|write\s+code|build\s+things)"
_NEVER = r"(?:do\s+not|don['’]?t|never)"

_NAMED = _each(Slot.NAME, "Is named {}", name_value(strict=False))
_CALLED = _each(Slot.PREFERRED_NAME, "Prefers to be called {}", name_value(strict=True))
_PRONOUNS_USED = _each(Slot.PRONOUNS, "Uses {} pronouns", matching(PRONOUNS))
_TIME_ZONE = _each(Slot.TIMEZONE, "Time zone is {}", matching(TIMEZONE))
_LIVES = _each(Slot.LOCATION, "Lives in {}", place_value)
_REPLIES_IN = _each(Slot.LANGUAGE, "Wants replies in {}", _SPOKEN)
_WORKS_IN = _each(PROGRAMMING, "Works in {}", _CODED)
_SPEAKS_LANGUAGES = _each(SPEAKS, "Speaks {}", _SPOKEN)

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
    _rule(rf"{_IM}(?:in|on)\s+(?:the\s+)?(?={TIMEZONE.pattern})", _TIME_ZONE),
    _rule(
        r"my\s+birthday\s+is\s+(?:on\s+)?|i\s+was\s+born\s+on\s+",
        _each(Slot.BIRTHDAY, "Birthday is {}", matching(BIRTHDAY)),
    ),
    _rule(rf"i\s+{_ADV}(?:live|reside)\s+in\s+|i(?:['’]ve|\s+have)\s+{_ADV}lived\s+in\s+", _LIVES),
    _rule(rf"{_IM}{_ADV}(?:living|based|located)\s+(?:in|out\s+of)\s+", _LIVES),
    _rule(rf"i\s+{_ADV}moved\s+to\s+", _LIVES),
    _rule(
        rf"(?:{_IM}(?:originally\s+)?from|i\s+(?:originally\s+)?come\s+from)\s+",
        _each(Slot.HOMETOWN, "Is from {}", place_value),
    ),
    _rule(rf"{_IM}(?P<where>[{CJK}]{{2,5}}?)人(?![{CJK}])", _zh_hometown),
    _rule(r"i\s+grew\s+up\s+in\s+", _each(Slot.HOMETOWN, "Grew up in {}", place_value)),
    _rule(rf"(?:please\s+)?always\s+{_REPLY}", _REPLIES_IN),
    _rule(rf"from\s+now\s+on\s*,?\s+(?:please\s+)?(?:always\s+)?{_REPLY}", _REPLIES_IN),
    _rule(rf"(?:please\s+)?{_REPLY}(?=\S+\s+from\s+now\s+on)", _REPLIES_IN),
    _rule(rf"i\s+{_ADV}prefer\s+(?:replies|answers|responses)\s+in\s+", _REPLIES_IN),
    _rule(rf"i\s+{_ADV}speak\s+(?:fluent\s+)?", _SPEAKS_LANGUAGES),
    _rule(rf"{_IM}{_ADV}fluent\s+in\s+", _SPEAKS_LANGUAGES),
    _rule(
        r"my\s+(?:native|first|mother)\s+(?:language|tongue)\s+is\s+"
        rf"|{_IM}a\s+native\s+(?=(?:{LANGUAGE_NAMES})\s+speaker)",
        _each(SPEAKS, "Native language is {}", _SPOKEN),
    ),
    _rule(
        rf"i\s+{_ADV}{_WORK_IN}\s+(?:mostly\s+|mainly\s+)?(?:in|with)\s+(?=(?:{PROGRAMMING_NAMES}))",
        _WORKS_IN,
    ),
    _rule(rf"i\s+{_ADV}(?:use|write)\s+(?=(?:{PROGRAMMING_NAMES}))", _WORKS_IN),
    _rule(rf"i\s+{_ADV}work\s+as\s+(?:an?\s+)?", _job_then_employer("Works as {}")),
    _rule(rf"i\s+{_ADV}work\s+(?:at|for)\s+", _employer_then_job),
    _rule(
        rf"(?:{_IM}|i['’]ve\s+been\s+|i\s+have\s+been\s+){_ADV}(?:an?\s+)?(?:strict\s+)?"
        r"(?=(?:vegetarian|vegan|pescatarian|pescetarian)\b)"
        r"|i\s+(?:went|turned)\s+(?=(?:vegetarian|vegan)\b)",
        _each(Slot.DIET, "Is {}", matching(_DIETS)),
    ),
    _rule(
        rf"{_IM}{_ADV}(?=(?:lactose|gluten)[\s-]intolerant|(?:a\s+)?c(?:o)?eliac\b)(?:a\s+)?",
        _each(
            Slot.DIET,
            "Is {}",
            matching(re.compile(r"(?:lactose|gluten)[\s-]intolerant|c(?:o)?eliac", re.I)),
        ),
    ),
    _rule(
        r"i\s+(?:keep|eat)\s+(?=(?:kosher|halal)\b)",
        _each(Slot.DIET, "Eats {}", matching(re.compile(r"kosher|halal", re.I))),
    ),
    _rule(rf"{_IM}{_ADV}allergic\s+to\s+", _each(Slot.DIET, "Is allergic to {}", things_value)),
    _rule(
        rf"i\s+{_ADV}(?:{_NEVER}|can['’]?t|cannot|can\s+not)\s+{_ADV}eat\s+",
        _each(Slot.DIET, "Does not eat {}", things_value),
    ),
    _rule(
        rf"i\s+{_ADV}{_NEVER}\s+drink\s+",
        _each(Slot.DIET, "Does not drink {}", things_value),
    ),
    _rule(
        rf"i\s+{_ADV}{_NEVER}\s+{_ADV}(?:like|enjoy)\s+"
        rf"|i\s+{_ADV}(?:hate|dislike|detest|loathe|can['’]?t\s+stand|cannot\s+stand)\s+"
        rf"|{_IM}not\s+(?:a\s+)?(?:big\s+|huge\s+)?fan\s+of\s+",
        _each(DISLIKES, "Dislikes {}", things_value),
    ),
    _rule(
        rf"i\s+{_ADV}(?:love|like|enjoy|adore)\s+"
        rf"|{_IM}{_ADV}(?:a\s+)?(?:(?:big|huge|great)\s+)?fan\s+of\s+|{_IM}{_ADV}into\s+",
        _each(LIKES, "Likes {}", things_value),
    ),
    _rule(
        r"my\s+favou?rite\s+(?P<what>[a-z]+(?:\s+[a-z]+)?)\s+is\s+",
        _favourite("Favourite {} is {}"),
    ),
    _rule(rf"{_IM}{_ADV}an?\s+", _job_then_employer("Is a {}")),
    _rule(_IM, _each(Slot.NAME, "Is named {}", name_value(strict=True))),
]

_ZH_NAMED = _each(Slot.NAME, "名叫{}", zh_name_value)
_ZH_CALLED = _each(Slot.PREFERRED_NAME, "希望被叫作{}", zh_name_value)
_ZH_TIME_ZONE = _each(Slot.TIMEZONE, "时区是{}", matching(TIMEZONE))
_ZH_LIVES = _each(Slot.LOCATION, "住在{}", place_value)
# "我是", "我是一名": what follows is what the user is, a diet or a job.
_ZH_I_AM = rf"我{_ZH_ADV}是(?:一个|一名|一位|个|名)?"
_ZH_NEVER = r"(?:不|从不|从来不|不能)"
_ZH_IS_JOB = _each(Slot.JOB, "是{}", job_value)

_CHINESE_RULES = [
    _rule(r"我的?名字(?:是|叫)\s*", _ZH_NAMED),
    _rule(r"我叫\s*", _ZH_NAMED),
    _rule(rf"我是\s*(?=[小老阿][{CJK}](?:$|[，,。.!！；;]))", _ZH_NAMED),
    _rule(r"我的(?:昵称|小名|外号|网名)是\s*", _ZH_CALLED),
    _rule(r"(?:(?:你|您)?(?:可以|就|请)*|(?:大家|朋友们?|同事们?|别人)都?)叫我\s*", _ZH_CALLED),
    _rule(
        r"我的\s*(?:代词|人称代词|pronouns)\s*是\s*",
        _each(Slot.PRONOUNS, "代词是{}", matching(PRONOUNS)),
    ),
    _rule(r"我的时区是\s*", _ZH_TIME_ZONE),
    _rule(
        rf"我{_ZH_ADV}在\s*(?=[东西][一二三四五六七八九十]{{1,2}}区)", _ZH_TIME_ZONE, carries=True
    ),
    _rule(r"我的生日是\s*", _each(Slot.BIRTHDAY, "生日是{}", matching(BIRTHDAY))),
    _rule(rf"我{_ZH_ADV}住在?\s*", _ZH_LIVES, carries=True),
    _rule(rf"我{_ZH_ADV}搬到了?\s*", _ZH_LIVES, carries=True),
    _rule(rf"我{_ZH_ADV}来自\s*", _each(Slot.HOMETOWN, "来自{}", place_value), carries=True),
    _rule(r"我的?老家(?:是|在)\s*", _each(Slot.HOMETOWN, "老家在{}", place_value)),
    _rule(
        rf"我{_ZH_ADV}是(?P<where>[{CJK}]{{2,5}}?)人(?=$|[，,。.!！；;])",
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
        rf"我{_ZH_ADV}(?:用|写)\s*(?=(?:{PROGRAMMING_NAMES}))",
        _each(PROGRAMMING, "用{}编程", _CODED),
        carries=True,
    ),
    _rule(
        rf"{_ZH_I_AM}(?:纯|严格的?)素食(?:者|主义者)",
        _fixed(Slot.DIET, "是纯素食者", "纯素"),
        carries=True,
    ),
    _rule(
        rf"{_ZH_I_AM}素食(?:者|主义者)|我{_ZH_ADV}只?吃素",
        _fixed(Slot.DIET, "是素食者", "素食"),
        carries=True,
    ),
    _rule(
        rf"我{_ZH_ADV}有?乳糖不耐(?:受|症)",
        _fixed(Slot.DIET, "乳糖不耐受", "乳糖不耐受"),
        carries=True,
    ),
    _rule(
        rf"我{_ZH_ADV}{_ZH_NEVER}吃\s*",
        _each(Slot.DIET, "不吃{}", things_value),
        carries=True,
    ),
    _rule(
        rf"我{_ZH_ADV}{_ZH_NEVER}喝\s*",
        _each(Slot.DIET, "不喝{}", things_value),
        carries=True,
    ),
    _rule(
        rf"我{_ZH_ADV}对\s*",
        _each(Slot.DIET, "对{}过敏", matching(re.compile(r"[^，,。\s]{1,10}?(?=\s*过敏)"))),
        carries=True,
    ),
    _rule(
        rf"我{_ZH_ADV}在\s*(?P<org>[^，,。]{{2,20}}?)\s*(?:当|做|担任)(?:一名|一个)?\s*",
        _zh_job_at,
        carries=True,
    ),
    _rule(
        rf"我{_ZH_ADV}在\s*(?P<where>[{CJK}{LATIN} .&-]{{2,20}}?)\s*"
        r"(?P<verb>工作|上班|生活|定居|住)",
        _zh_work_place,
        carries=True,
    ),
    _rule(rf"{_ZH_I_AM}\s*", _ZH_IS_JOB, carries=True),
    _rule(r"我的(?:工作|职业)是\s*", _ZH_IS_JOB),
    _rule(rf"我最喜欢的(?P<what>[{CJK}]{{1,4}}?)是\s*", _favourite("最喜欢的{}是{}")),
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

# In order: extract.py tries them one by one.
RULES = _ENGLISH_RULES + _CHINESE_RULES
