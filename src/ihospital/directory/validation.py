"""Checks of directory input, for Pydantic validators and services alike.

Each check returns the cleaned value or raises ``ValueError`` whose message is an English message
id (translated when the problem is rendered), so a schema can use it as an ``AfterValidator``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from ihospital.errors import Unprocessable

# GB/T 2260: the first two digits name a province-level division.
PROVINCE_PREFIXES = frozenset(
    {
        *("11", "12", "13", "14", "15"),
        *("21", "22", "23"),
        *("31", "32", "33", "34", "35", "36", "37"),
        *("41", "42", "43", "44", "45", "46"),
        *("50", "51", "52", "53", "54"),
        *("61", "62", "63", "64", "65"),
        *("71", "81", "82"),
    }
)
_REGION_CODE = re.compile(r"[0-9]{6}")
_DEPARTMENT_CODE = re.compile(r"[0-9]{2}(\.[0-9]{2})?")
_LICENCE_NUMBER = re.compile(r"[0-9]{15}")
_PHONE = re.compile(r"[0-9+()\- ]*")
# Letters of any script; parts may be joined by a middle dot, hyphen, apostrophe, dot or space.
_PERSON_NAME = re.compile(r"[^\W\d_]+(?:(?:[·•\-'.]| )[^\W\d_]+)*")
# Letters and digits of any script, spaces and the punctuation of names of institutions and
# departments (北京大学第一医院（西院）, St. Mary's Hospital, 心内科·二病区).
_PROPER_NAME = re.compile(r"(?:[^\W_]|[ ()（）·・\-—–.,，、&'’])*")
_MARKUP_OR_CONTROL = re.compile(r"[<>\x00-\x1f\x7f]")
_CONTROL_EXCEPT_LINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

TEXT_MESSAGE = "Enter text."
REGION_CODE_MESSAGE = "Enter a 6-digit administrative division code (GB/T 2260), such as 110105."
DEPARTMENT_CODE_MESSAGE = "Enter a department code such as 03 or 03.04."
LICENCE_NUMBER_MESSAGE = "Enter the 15-digit practising certificate number."
PHONE_MESSAGE = "Enter a phone number using digits, spaces and + - ( ) only."
PERSON_NAME_MESSAGE = "Enter a name in letters; parts may be separated by · - ' or a space."
PROPER_NAME_MESSAGE = "Use letters, digits, spaces and ( ) · - . , 、 & ' only."
PLAIN_TEXT_MESSAGE = "This text may not contain < or > or control characters."
LONG_TEXT_MESSAGE = "This text may not contain control characters."
PHOTO_URL_MESSAGE = "Enter an https:// address of the photo."


def check_fields(values: Mapping[str, Any], checks: Mapping[str, Callable[[str], str]]) -> None:
    """Apply ``checks`` to the fields of ``values`` they name, as services do for callers that
    do not come through the API shapes; a failure is a 422 naming the field."""
    for field, check in checks.items():
        if field not in values:
            continue
        try:
            if not isinstance(values[field], str):
                raise ValueError(TEXT_MESSAGE)
            check(values[field])
        except ValueError as error:
            raise Unprocessable(f"directory.{field}_invalid", str(error), field=field) from None


def region_code(value: str) -> str:
    """A 6-digit GB/T 2260 code of a real province-level division."""
    if not _REGION_CODE.fullmatch(value) or value[:2] not in PROVINCE_PREFIXES:
        raise ValueError(REGION_CODE_MESSAGE)
    return value


def department_code(value: str) -> str:
    """The shape of a 《医疗机构诊疗科目名录》 code: ``03`` or ``03.04``."""
    if not _DEPARTMENT_CODE.fullmatch(value):
        raise ValueError(DEPARTMENT_CODE_MESSAGE)
    return value


def licence_number(value: str) -> str:
    """执业证书编码: 15 digits."""
    if not _LICENCE_NUMBER.fullmatch(value):
        raise ValueError(LICENCE_NUMBER_MESSAGE)
    return value


def phone(value: str) -> str:
    if not _PHONE.fullmatch(value):
        raise ValueError(PHONE_MESSAGE)
    return value


def person_name(value: str) -> str:
    """A person's name: letters of any script (张三丰, 买买提·艾力, Anna-Lena O'Brien)."""
    if not _PERSON_NAME.fullmatch(value):
        raise ValueError(PERSON_NAME_MESSAGE)
    return value


def proper_name(value: str) -> str:
    """The name of an institution, a region or a department: no markup, quotes that end a
    statement, semicolons, wildcards or other symbols (markup is refused as in plain text)."""
    if not _PROPER_NAME.fullmatch(plain_text(value)):
        raise ValueError(PROPER_NAME_MESSAGE)
    return value


def is_plain_text(value: str) -> bool:
    """Whether ``value`` is one line of text without markup characters or control characters."""
    return not _MARKUP_OR_CONTROL.search(value)


def is_long_text(value: str) -> bool:
    """Whether ``value`` is free text over several lines (escaped when shown): no control
    characters but line breaks and tabs (PostgreSQL refuses NUL in text)."""
    return not _CONTROL_EXCEPT_LINES.search(value)


def plain_text(value: str) -> str:
    """One line of text without markup characters or control characters."""
    if not is_plain_text(value):
        raise ValueError(PLAIN_TEXT_MESSAGE)
    return value


def long_text(value: str) -> str:
    """Free text over several lines (escaped when shown): no control characters but line breaks
    and tabs."""
    if not is_long_text(value):
        raise ValueError(LONG_TEXT_MESSAGE)
    return value


def photo_url(value: str) -> str:
    """An absolute https address (or empty): pages load photos over https only."""
    if not value:
        return value
    parts = urlsplit(value)
    if (
        parts.scheme != "https"
        or not parts.hostname
        or any(character in value for character in " \"'<>\\")
        or _MARKUP_OR_CONTROL.search(value)
    ):
        raise ValueError(PHOTO_URL_MESSAGE)
    return value
