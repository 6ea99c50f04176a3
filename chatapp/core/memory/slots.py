"""What a memory may hold: the slots of facts that have one value at a time, the
normal form that tells two free-form facts are the same, and the refusal of secrets.

A slot is a kind of fact a person has one of (a name, a home, a diet): a new value
replaces the old one instead of contradicting it. Everything else is free-form, kept
once however it is cased, spaced or punctuated.
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum


class Slot(StrEnum):
    NAME = "name"
    PREFERRED_NAME = "preferred_name"
    PRONOUNS = "pronouns"
    BIRTHDAY = "birthday"
    LOCATION = "location"
    HOMETOWN = "hometown"
    TIMEZONE = "timezone"
    # The language the user wants replies in; other languages they speak are free-form.
    LANGUAGE = "language"
    EMPLOYER = "employer"
    JOB = "job"
    DIET = "diet"


SLOTS: frozenset[str] = frozenset(Slot)


# -- de-duplication ----------------------------------------------------------------------

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# Chinese and Japanese put no spaces between words: a space next to one is not meaningful.
_SPACE_BY_CJK = re.compile(rf"(?<=[{_CJK}]) | (?=[{_CJK}])")
# Punctuation and symbols: the punctuation goes, the symbols stay ("c++" is not "c").
_NOT_WORD = re.compile(r"[^\w\s]|_")


def _punctuation_to_space(match: re.Match[str]) -> str:
    """Punctuation (Unicode category P*) becomes a space, so "a,b" and "a, b" agree."""
    char = match.group()
    return " " if unicodedata.category(char).startswith("P") else char


def normalise(text: str) -> str:
    """The form two free-form facts share when they say the same thing:
    "I'm  Vegetarian." and "i’m vegetarian", or "我是素食者。" and "我是素食者！"."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = " ".join(_NOT_WORD.sub(_punctuation_to_space, text).split())
    return _SPACE_BY_CJK.sub("", text)


# -- secrets -----------------------------------------------------------------------------

_PRIVATE_KEY = re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")

# Keys whose prefix says what they are. The sk- family also needs a digit, so that
# "sk-learn-is-my-favourite-library" stays a fact.
_API_KEY = re.compile(
    r"(?<![A-Za-z0-9])(?:"
    r"sk-(?=[A-Za-z0-9_-]*\d)[A-Za-z0-9_-]{20,}"  # OpenAI, Anthropic, DeepSeek...
    r"|[sr]k_(?:live|test)_[A-Za-z0-9]{16,}"  # Stripe
    r"|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}"  # GitHub
    r"|(?:AKIA|ASIA)[0-9A-Z]{16}"  # AWS
    r"|xox[abposr]-[A-Za-z0-9-]{10,}"  # Slack
    r"|AIza[0-9A-Za-z_-]{35}"  # Google
    r"|hf_[A-Za-z0-9]{30,}"  # Hugging Face
    r"|glpat-[A-Za-z0-9_-]{20,}"  # GitLab
    r")"
)

# "is", "was", ":" or "=" between a name and its value; the value is checked by the caller.
_IS = r"(?:\s*(?:is|was)\b\s*[:=]?|\s*[:=])\s*"
_KEY_ASSIGNMENT = re.compile(
    r"\b(?:api[ _-]?key|secret[ _-]?key|access[ _-]?token|auth[ _-]?token|client[ _-]?secret"
    rf"|bearer)\b(?:{_IS}|\s+)(?=\S*\d)[A-Za-z0-9_\-.+/=]{{12,}}",
    re.IGNORECASE,
)
_PASSWORD = re.compile(rf"\b(?:password|passwd|passphrase|passcode|pwd){_IS}(\S+)", re.IGNORECASE)
_PIN = re.compile(rf"\bpin(?:\s*code)?{_IS}\d{{4,8}}\b", re.IGNORECASE)
# "密码是什么" asks for a password, it does not give one.
_CHINESE_PASSWORD = re.compile(r"(?:密码|密碼|口令)\s*(?:是|为|為|:|=)\s*(?!什么|什麼|多少)\S")
_CHINESE_KEY = re.compile(r"(?:密钥|密鑰|秘钥|令牌)\s*(?:是|为|為|:|=)\s*(?!什么|什麼|多少)\S")
# Words that start a description of a password, not the password: "it is on the fridge".
_NOT_A_PASSWORD = re.compile(
    r"a|an|the|my|on|in|at|not|too|very|weak|strong|long|short|safe|secure|secret|private"
    r"|same|different|written|stored|saved|kept|hidden|expired|changed|reset|required"
    r"|forgotten|lost",
    re.IGNORECASE,
)

_CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?!\d)")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]*")
_HEX = re.compile(
    r"(?<![0-9A-Za-z])(?=[0-9a-fA-F]*[a-fA-F])(?=[0-9a-fA-F]*\d)[0-9a-fA-F]{32,}(?![0-9A-Za-z])"
)
_BASE64 = re.compile(r"(?<![A-Za-z0-9+_-])[A-Za-z0-9+_-]{32,}={0,2}")
_LETTER_DIGIT_SWITCH = re.compile(r"[A-Za-z](?=\d)|\d(?=[A-Za-z])")


def secret_reason(text: str) -> str | None:
    """Why text looks like a secret ("looks like an API key"), or None when it does not.

    Tuned to refuse what a user might paste by mistake (keys, tokens, passwords, card
    numbers, private keys) while letting ordinary facts through: "I was born in 1990",
    "my phone is an iPhone 15", "我住在上海".
    """
    text = unicodedata.normalize("NFKC", text)
    if _PRIVATE_KEY.search(text):
        return "looks like a private key"
    if _API_KEY.search(text) or _KEY_ASSIGNMENT.search(text) or _CHINESE_KEY.search(text):
        return "looks like an API key"
    if _names_a_password(text):
        return "looks like a password"
    if any(_is_card_number(match.group()) for match in _CARD.finditer(text)):
        return "looks like a card number"
    if _JWT.search(text) or _HEX.search(text) or any(map(_is_random, _BASE64.findall(text))):
        return "looks like an access token"
    return None


def _names_a_password(text: str) -> bool:
    if _PIN.search(text) or _CHINESE_PASSWORD.search(text):
        return True
    for match in _PASSWORD.finditer(text):
        value = match.group(1).strip("\"'“”‘’`.,;!?()")
        if value and not _NOT_A_PASSWORD.fullmatch(value):
            return True
    return False


def _is_card_number(candidate: str) -> bool:
    digits = re.sub(r"\D", "", candidate)
    # Card numbers start with 2-6 (Mastercard, Amex, Visa, Discover, UnionPay...);
    # phone numbers with a country code mostly do not, which keeps them out.
    return 13 <= len(digits) <= 19 and digits[0] in "23456" and _luhn_valid(digits)


def _luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _is_random(run: str) -> bool:
    """A long run of letters and digits that reads like a token, not a CamelCase word:
    mixed case, digits, and letters and digits interleaved several times."""
    return (
        any(c.isupper() for c in run)
        and any(c.islower() for c in run)
        and len(_LETTER_DIGIT_SWITCH.findall(run)) >= 4
    )
