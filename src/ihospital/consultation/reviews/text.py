"""What a review's text may say and how it is shown.

Personal data is masked before the text is stored: resident ID numbers (``1101**********123X``),
mobile numbers (``138****5678``), e-mail addresses (``z***@example.com``) and the names of the
patient and guardian (``张*``). Text with a word of the curated abusive list
(``data/abusive_words.txt``, zh and en) is held for the institution to review.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from ihospital.core.ids import mask_resident_id
from ihospital.identity.accounts import mask_mobile
from ihospital.identity.patient_cards import mask_name

WORDS_FILE = Path(__file__).resolve().parent / "data" / "abusive_words.txt"

_RESIDENT_ID = re.compile(r"(?<![0-9A-Za-z])[1-9][0-9]{16}[0-9Xx](?![0-9A-Za-z])")
# a mainland mobile number, maybe with +86 and spaces or hyphens between its groups
_MOBILE = re.compile(
    r"(?<![0-9])(?:\+?86[ -]?)?(1[3-9][0-9])[ -]?([0-9]{4})[ -]?([0-9]{4})(?![0-9])"
)
_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)")


def _mobile(match: re.Match[str]) -> str:
    return mask_mobile("".join(match.groups()))


def mask_personal_data(text: str, *, names: tuple[str | None, ...] = ()) -> str:
    """``text`` with ID numbers, mobile numbers, e-mail addresses and ``names`` masked."""
    text = _RESIDENT_ID.sub(lambda match: mask_resident_id(match.group()), text)
    text = _MOBILE.sub(_mobile, text)
    text = _EMAIL.sub(lambda match: f"{match.group(1)}***@{match.group(2)}", text)
    for name in names:
        if name and len(name) >= 2:
            text = text.replace(name, mask_name(name))
    return text


@cache
def _abusive_pattern() -> re.Pattern[str]:
    words = [
        line.strip().lower()
        for line in WORDS_FILE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    parts = [
        rf"(?<![A-Za-z]){re.escape(word)}(?![A-Za-z])" if word.isascii() else re.escape(word)
        for word in sorted(words, key=len, reverse=True)
    ]
    return re.compile("|".join(parts), re.IGNORECASE)


def abusive_words(text: str) -> list[str]:
    """The words of the abusive list that ``text`` contains, each once, in order of appearance."""
    found: list[str] = []
    for match in _abusive_pattern().finditer(text):
        word = match.group().lower()
        if word not in found:
            found.append(word)
    return found
