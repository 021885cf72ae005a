"""Resident identity card numbers (居民身份证号码, GB 11643-1999).

An 18-character number: a 6-digit region code, the birth date as YYYYMMDD, a 3-digit sequence
whose last digit is odd for men and even for women, and a check character (ISO 7064 MOD 11-2,
``0``–``9`` or ``X``). Numbers are shown only masked (first 4 and last 4 characters).

Failures raise :class:`InvalidResidentId`, a ``ValueError`` whose message is an English message id
(so a Pydantic validator can raise it as it is) and whose ``reason`` is a stable short code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

ID_LENGTH = 18
EARLIEST_BIRTH_DATE = date(1900, 1, 1)
_WEIGHTS = tuple(pow(2, 17 - position, 11) for position in range(17))
_CHECK_CHARS = "10X98765432"  # indexed by the weighted sum modulo 11

Reason = Literal["length", "characters", "check_digit", "region", "birth_date", "future", "too_old"]

MESSAGES: dict[str, str] = {
    "length": "A resident ID number has exactly 18 characters.",
    "characters": "A resident ID number is 17 digits followed by a digit or the letter X.",
    "check_digit": "The check digit of this resident ID number is wrong; please check the number.",
    "region": "The region code at the start of this resident ID number is not valid.",
    "birth_date": "The birth date in this resident ID number is not a real date.",
    "future": "The birth date in this resident ID number is in the future.",
    "too_old": "The birth date in this resident ID number is before 1900.",
}


class InvalidResidentId(ValueError):
    """The text is not a valid resident ID number; ``str(error)`` is an English message id."""

    def __init__(self, reason: Reason) -> None:
        super().__init__(MESSAGES[reason])
        self.reason = reason


@dataclass(frozen=True)
class ResidentId:
    """A valid resident ID number and what it says about its holder."""

    number: str
    region_code: str
    birth_date: date
    sex: Literal["male", "female"]

    @property
    def masked(self) -> str:
        return mask_resident_id(self.number)

    def age_on(self, day: date) -> int:
        return age_on(self.birth_date, day)


def check_character(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of the first 17 digits."""
    total = sum(int(digit) * weight for digit, weight in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


def normalise_resident_id(value: str) -> str:
    """Trim and upper-case the check character; refuse anything that is not a valid number.

    Checks everything that does not depend on today's date (see :func:`parse_resident_id`).
    """
    number = value.strip().upper()
    if len(number) != ID_LENGTH:
        raise InvalidResidentId("length")
    if not (number[:17].isascii() and number[:17].isdigit()) or number[17] not in "0123456789X":
        raise InvalidResidentId("characters")
    if check_character(number[:17]) != number[17]:
        raise InvalidResidentId("check_digit")
    if number[0] == "0":
        raise InvalidResidentId("region")
    birth = _birth_date(number)
    if birth < EARLIEST_BIRTH_DATE:
        raise InvalidResidentId("too_old")
    return number


def parse_resident_id(value: str, *, today: date) -> ResidentId:
    """Validate a resident ID number fully (birth date not after ``today``) and read it."""
    number = normalise_resident_id(value)
    birth = _birth_date(number)
    if birth > today:
        raise InvalidResidentId("future")
    return ResidentId(
        number=number,
        region_code=number[:6],
        birth_date=birth,
        sex="male" if int(number[16]) % 2 == 1 else "female",
    )


def mask_resident_id(number: str) -> str:
    """``1101**********123X``: the first and last four characters, ten stars between."""
    return f"{number[:4]}{'*' * 10}{number[-4:]}"


def age_on(birth_date: date, day: date) -> int:
    """Age in whole years on ``day`` (someone born on 29 February turns a year older on 1 March
    in common years)."""
    years = day.year - birth_date.year
    if (day.month, day.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


def _birth_date(number: str) -> date:
    try:
        return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise InvalidResidentId("birth_date") from None
