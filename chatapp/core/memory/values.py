"""The value readers of the memory extractor's rules (rules.py): after the words of a
self-statement ("I live in", "我叫"), each reads the value that follows, a name, a place,
a job, an organisation, things liked or avoided, languages, programming languages, a time
zone, pronouns or a birthday, and reads nothing when what follows is not plainly one."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from chatapp.core.memory.candidate import CJK, CJK_CHAR, LATIN, words


@dataclass(frozen=True, slots=True)
class Value:
    """A value read from the message: where it is and its bare form."""

    start: int
    end: int
    value: str


ValueReader = Callable[[str, int, int], list[Value]]

_SPACES = re.compile(r"[ \t\u3000]*")
_THE = re.compile(r"the\s+", re.IGNORECASE)


def _skip_spaces(text: str, position: int, end: int) -> int:
    match = _SPACES.match(text, position, end)
    return match.end() if match else position


# Capitalised words that follow "I'm" without being a name.
_NOT_NAMES = words(
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
_FUNCTION_WORDS = words(
    """a an the and or but not no is am are was were be been to of in on at for from with
    by as it its this that these those my your his her our their i me you he she we they
    him them us so very really just also too what who where when why how which if then
    than here there some any all both each every much many more most less lot lots btw"""
)
_NAME_TOKEN = re.compile(rf"[{LATIN}]+(?:[-'’][{LATIN}]+)*")
_NAME_AFTER = re.compile(
    r"\s*(?:$|[,.!;:)(—–，。！；：（]|\s(?:and|from|here|btw|by\s+the\s+way|again|too|lol"
    r"|haha)\b)",
    re.IGNORECASE,
)
_CJK_NAME = re.compile(rf"[{CJK}·]{{2,4}}(?![{CJK}])")


def _latin_name(text: str, position: int, end: int, *, strict: bool) -> Value | None:
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
    return Value(position, value_end, text[position:value_end])


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


def name_value(strict: bool) -> ValueReader:
    def read(text: str, position: int, end: int) -> list[Value]:
        position = _skip_spaces(text, position, end)
        cjk = None if strict else _CJK_NAME.match(text, position, end)
        if cjk:
            return [Value(cjk.start(), cjk.end(), cjk.group())]
        value = _latin_name(text, position, end, strict=strict)
        return [value] if value else []

    return read


_PLACE_WORD = re.compile(rf"[A-Z][{LATIN}.'’&-]*|(?:of|de|la|upon|am|on|del|da|do|y)(?= )")
_NOT_ORGS = words("I IT HR Sales Marketing Finance Engineering Support Legal Team Monday")
_NOT_PLACES = _NOT_ORGS | words(
    "Google Microsoft Apple Amazon Meta Facebook OpenAI IBM Intel Nvidia Netflix Tesla"
)
# After a place, words that make it part of an organisation: "I'm from the Berlin office".
_PLACE_OF_ORG = re.compile(
    r"['’]s\b|\s+(?:team|office|department|support|company|branch|headquarters|hq|side"
    r"|group|campus|store|shop)\b",
    re.IGNORECASE,
)
_CJK_PLACE = re.compile(rf"[{CJK}]{{2,12}}")
_CJK_PLACE_STOP = re.compile(
    r"的|了|呢|吗|啊|吧|呀|哦|嘛|和|工作|上班|生活|定居|住|上学|读书|因为|所以|但是|不过|而且|附近"
    r"|那边|这边|一带|已经|有|当|做|担任|(?:[一二两三四五六七八九十几多好]+|\d+)\s*(?:年|个月|天|周)"
)
_NOT_CJK_PLACES = re.compile(
    r"^[一这那某个我你他她它]|很|非常|酒店|宾馆|家里|朋友家|宿舍|车站|地铁"
)


def _cjk_place(text: str, position: int, end: int) -> Value | None:
    """A run of Chinese characters up to a particle or the verb that follows a place."""
    match = _CJK_PLACE.match(text, position, end)
    if match is None:
        return None
    stop = _CJK_PLACE_STOP.search(text, position + 1, match.end())
    run_end = stop.start() if stop else match.end()
    value = text[position:run_end]
    if len(value) < 2 or _NOT_CJK_PLACES.search(value):
        return None
    return Value(position, run_end, value)


def _capitalised(
    text: str, position: int, end: int, word: re.Pattern[str], excluded: frozenset[str]
) -> Value | None:
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
    return Value(position, first + len(value), value)


def place_value(text: str, position: int, end: int) -> list[Value]:
    position = _skip_spaces(text, position, end)
    value = _cjk_place(text, position, end) or _capitalised(
        text, position, end, _PLACE_WORD, _NOT_PLACES
    )
    if value is None or _PLACE_OF_ORG.match(text, value.end, end):
        return []
    return [value]


LANGUAGE_NAMES = (
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
LANGUAGE = re.compile(rf"(?:{LANGUAGE_NAMES})(?![{LATIN}])", re.IGNORECASE)
PROGRAMMING_NAMES = (
    r"Go|Golang|golang|Rust|rust|Python|python|Java|java|JavaScript|javascript|TypeScript"
    r"|typescript|Kotlin|kotlin|Swift|C\+\+|C#|F#|C|Ruby|PHP|php|Scala|Haskell|haskell"
    r"|Elixir|Erlang|Clojure|OCaml|Julia|Lua|Perl|Dart|Zig|Nim|R|MATLAB|Matlab|Fortran"
    r"|COBOL|Objective-C|SQL|Bash|PowerShell|Groovy|Elm|Lisp|Scheme|Racket|Prolog"
    r"|Solidity|Verilog|VHDL"
)
PROGRAMMING_LANGUAGE = re.compile(rf"(?:{PROGRAMMING_NAMES})(?![A-Za-z0-9_+#])")
# "and", "or", commas and their Chinese kin between the items of a list.
_LIST_JOIN = re.compile(
    r"\s*(?:,\s*(?:and\s+|or\s+)?|\s(?:and|or|&)\s|/|和|与|跟|、|以及|还有|或者?)\s*"
)


def listed(item: re.Pattern[str], after: re.Pattern[str] | None = None) -> ValueReader:
    """A reader of one or more items of a closed list ("Spanish and Portuguese"), when
    what follows the last one matches after."""

    def read(text: str, position: int, end: int) -> list[Value]:
        values: list[Value] = []
        cursor = _skip_spaces(text, position, end)
        while match := item.match(text, cursor, end):
            values.append(Value(match.start(), match.end(), match.group()))
            joined = _LIST_JOIN.match(text, match.end(), end)
            if joined is None:
                break
            cursor = joined.end()
        if values and after is not None and not after.match(text, values[-1].end, end):
            return []
        return values

    return read


# What may follow a programming language named after "use": "I use C drive" is not C.
AFTER_PROGRAMMING = re.compile(
    r"\s*(?:$|[,.!;:)(，。！；：（]|\s(?:for|at|and|in|on|with|daily|mostly|mainly|most"
    r"|professionally|every|these|nowadays|but|because|when|as|to)\b|[写做开编])",
    re.IGNORECASE,
)
TIMEZONE = re.compile(
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
PRONOUNS = re.compile(
    r"(?:he|she|they|xe|ze|zie|ey|fae|it)\s*/\s*(?:him|her|them|xem|xir|hir|zir|em|faer"
    r"|its|hers|theirs|they|she|he)(?:\s*/\s*(?:his|hers|theirs|him|her|them|xyr|zirs))?",
    re.IGNORECASE,
)
BIRTHDAY = re.compile(
    r"(?:(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?\s+\d{1,2}"
    r"(?:st|nd|rd|th)?|\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:Jan|Feb|Mar|Apr|May|Jun|Jul"
    r"|Aug|Sep|Oct|Nov|Dec)[a-z]*|\d{4}-\d{2}-\d{2}|(?:\d{1,2}|[一二三四五六七八九十]{1,2})月"
    r"(?:\d{1,2}|[一二三四五六七八九十]{1,3})[日号])(?!\w)"
)


def matching(pattern: re.Pattern[str]) -> ValueReader:
    """A reader of a value that is whatever pattern matches."""

    def read(text: str, position: int, end: int) -> list[Value]:
        match = pattern.match(text, _skip_spaces(text, position, end), end)
        return [Value(match.start(), match.end(), match.group())] if match else []

    return read


_JOB_HEADS = words(
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
_BAD_MODIFIERS = words(
    """not no former ex ex- aspiring future wannabe would-be failed terrible bad awful lousy
    horrible good great decent amazing excellent huge big little bit total complete real
    true hobby amateur kind sort of the my your this that fan lot very really such"""
)
_JOB_AFTER = words(
    """at for with in and who from so but by since based working on here there too now
    currently of specializing specialising mostly"""
)
_JOB_WORD = re.compile(rf"[{LATIN}0-9+#-]+(?:\.[{LATIN}0-9+#-]+)*")
_ZH_JOB_HEADS = (
    "工程师|程序员|开发者|设计师|老师|教师|医生|护士|律师|会计师|会计|产品经理|经理|研究员|科学家"
    "|作家|记者|编辑|厨师|司机|大学生|研究生|博士生|本科生|学生|教授|销售|分析师|顾问|建筑师"
    "|药剂师|翻译|摄影师|画家|演员|歌手|警察|公务员|农民|工人|店员|咨询师|架构师|运维|主管|总监"
    "|创业者|自由职业者|家庭主妇|全职妈妈|全职爸爸|实习生"
)
_ZH_JOB = re.compile(rf"[{CJK}]{{0,8}}?(?:{_ZH_JOB_HEADS})")
_ZH_JOB_AFTER = re.compile(r"\s*(?:$|[，,。.!！；;：:、]|在|也|而且|但是|所以|不过|主要|平时|目前)")
_NOT_IN_ZH_JOB = re.compile(r"[的他她你它我]")


def job_value(text: str, position: int, end: int) -> list[Value]:
    """A job title that ends in a known head noun: "software engineer", "产品经理"."""
    position = _skip_spaces(text, position, end)
    zh = _ZH_JOB.match(text, position, end)
    if zh and _ZH_JOB_AFTER.match(text, zh.end(), end) and not _NOT_IN_ZH_JOB.search(zh.group()):
        return [Value(zh.start(), zh.end(), zh.group())]
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
    return [Value(position, value_end, text[position:value_end])]


def _spaced_words(text: str, position: int, end: int) -> Iterator[re.Match[str]]:
    """The words from position on, while each is one space from the last."""
    cursor = position
    while match := _JOB_WORD.match(text, cursor, end):
        yield match
        if match.end() >= end or text[match.end()] != " ":
            return
        cursor = match.end() + 1


_ORG_WORD = re.compile(rf"[A-Z0-9][{LATIN}0-9.'’&-]*|&|of|de|and(?= [A-Z][a-z])|für")
_ZH_ORG = re.compile(
    r"腾讯|阿里巴巴|阿里|百度|字节跳动|字节|华为|小米|京东|美团|网易|拼多多|滴滴|微软|谷歌|苹果|亚马逊"
    rf"|[{CJK}]{{2,10}}?(?:公司|集团|银行|大学|学院|医院|学校|中学|小学|研究所|研究院|工作室"
    r"|事务所|科技)"
)


def org_value(text: str, position: int, end: int) -> list[Value]:
    """An organisation: capitalised words ("Deutsche Bahn", "the Mayo Clinic"), or a known
    or suffixed Chinese name ("腾讯", "招商银行")."""
    position = _skip_spaces(text, position, end)
    zh = _ZH_ORG.match(text, position, end)
    if zh:
        return [] if zh.group()[0] in "一这那家" else [Value(zh.start(), zh.end(), zh.group())]
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
_BAD_THING_START = words(
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


def things_value(text: str, position: int, end: int) -> list[Value]:
    """The things liked or avoided: "hiking and birdwatching", "爬山和游泳"; [] when any
    item is not a plain noun phrase ("it", "this answer", "to think", "你的回答")."""
    position = _skip_spaces(text, position, end)
    stop = _THING_END.search(text, position, end)
    phrase = text[position : stop.start() if stop else end].rstrip(" ,")
    values: list[Value] = []
    cursor = position
    for part in _LIST_JOIN.split(phrase):
        part_start = text.find(part, cursor) if part else cursor
        cursor = part_start + len(part)
        item = _THING_TRAILERS.sub("", part.strip())
        if not _plain_thing(item):
            return []
        item_start = part_start + len(part) - len(part.lstrip())
        values.append(Value(item_start, item_start + len(item), item))
    return values


def _plain_thing(item: str) -> bool:
    if CJK_CHAR.match(item):
        return 1 <= len(item) <= 12 and not _BAD_ZH_THING_START.match(item)
    words = item.split()
    if len(item) < 2 or not 1 <= len(words) <= 4:
        return False
    first = words[0].casefold()
    return first not in _BAD_THING_START and not first.endswith(("'s", "’s"))


def eaten(reader: ValueReader) -> ValueReader:
    """reader, with a leading 吃 or 喝 dropped from each value: "吃甜食" is about 甜食."""

    def read(text: str, position: int, end: int) -> list[Value]:
        return [
            Value(value.start + 1, value.end, value.value[1:])
            if value.value[:1] in ("吃", "喝") and len(value.value) > 1
            else value
            for value in reader(text, position, end)
        ]

    return read


_NOT_CJK_NAMES = words(
    """外卖 出租车 救护车 起床 一声 什么 啥 谁 醒 车 小白 小孩 老师 老板 老人 老手 老乡 老大
    老外 阿姨 老婆 老公 小弟 小妹 小姐"""
)
# Verbs and particles that no name holds: "我叫车去机场" orders a car.
_NOT_IN_CJK_NAME = re.compile(r"[去来过到起醒了的吗呢吧]")
_ZH_NAME = re.compile(
    rf"[{CJK}·]{{2,4}}?(?=$|[，,。.!！；;：:\s)（(]|[是在住来今年和也我但因所就吧啊呀哦])"
)


def zh_name_value(text: str, position: int, end: int) -> list[Value]:
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
        return [Value(cjk.start(), cjk.end(), name)]
    latin = _latin_name(text, position, end, strict=True)
    return [latin] if latin else []
