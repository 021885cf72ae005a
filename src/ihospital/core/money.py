"""Money: integer fen (分) everywhere inside, ``Decimal`` yuan at the edges, never float.

Amounts typed by people or sent by clients are yuan text such as ``"12.34"``: at most two
decimals (a fraction of a fen is refused, not rounded), never negative, at most
:data:`MAX_FEN`. Failures raise :class:`InvalidAmount`, a ``ValueError`` whose message is an
English message id, so a Pydantic validator can raise it as it is.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Literal

from pydantic import BeforeValidator, WithJsonSchema

FEN_PER_YUAN = 100
MAX_FEN = 10**12 - 1  # ¥9,999,999,999.99: far above any bill, far below 64-bit limits
_YUAN_TEXT = re.compile(r"^(?P<whole>[0-9]{1,10})(?:\.(?P<fraction>[0-9]{1,2}))?$")

Reason = Literal["format", "fraction", "negative", "too_large"]

MONEY_MESSAGES: dict[str, str] = {
    "format": "Enter an amount in yuan, such as 12.34.",
    "fraction": "An amount has at most two decimals (fen).",
    "negative": "An amount cannot be negative.",
    "too_large": "This amount is too large.",
}


class InvalidAmount(ValueError):
    """Not a valid amount of money; ``str(error)`` is an English message id."""

    def __init__(self, reason: Reason) -> None:
        super().__init__(MONEY_MESSAGES[reason])
        self.reason = reason


def parse_yuan(text: str) -> int:
    """``"12.34"`` → 1234 fen. Digits with an optional dot and one or two decimals only."""
    value = text.strip()
    if value.startswith("-"):
        raise InvalidAmount("negative")
    found = _YUAN_TEXT.match(value)
    if found is None:
        if re.match(r"^[0-9]+\.[0-9]{3,}$", value):
            raise InvalidAmount("fraction")
        too_large = re.match(r"^[0-9]{11,}(\.[0-9]*)?$", value)
        raise InvalidAmount("too_large" if too_large else "format")
    fen = int(found["whole"]) * FEN_PER_YUAN + int((found["fraction"] or "0").ljust(2, "0"))
    return check_fen(fen)


def yuan_to_fen(amount: Decimal) -> int:
    """An exact ``Decimal`` yuan amount → fen; a fraction of a fen is refused, not rounded."""
    try:
        fen = amount * FEN_PER_YUAN
        if not fen.is_finite():
            raise InvalidAmount("format")
        if fen != fen.to_integral_value():
            raise InvalidAmount("fraction")
    except InvalidOperation:
        raise InvalidAmount("format") from None
    if fen < 0:
        raise InvalidAmount("negative")
    return check_fen(int(fen))


def check_fen(fen: int) -> int:
    """A stored amount: a whole number of fen from 0 to :data:`MAX_FEN`."""
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise InvalidAmount("format")
    if fen < 0:
        raise InvalidAmount("negative")
    if fen > MAX_FEN:
        raise InvalidAmount("too_large")
    return fen


def fen_to_yuan(fen: int) -> Decimal:
    """1234 → ``Decimal("12.34")`` (always two decimals)."""
    return (Decimal(fen) / FEN_PER_YUAN).quantize(Decimal("0.01"))


def format_yuan(fen: int) -> str:
    """1234 → ``¥12.34``; -1234 → ``-¥12.34``; thousands are grouped: ``¥1,234.00``."""
    sign = "-" if fen < 0 else ""
    return f"{sign}¥{fen_to_yuan(abs(fen)):,}"


def _yuan_field(value: object) -> int:
    if isinstance(value, str):
        return parse_yuan(value)
    raise InvalidAmount("format")


YuanText = Annotated[
    int,
    BeforeValidator(_yuan_field),
    WithJsonSchema(
        {"type": "string", "pattern": r"^[0-9]{1,10}(\.[0-9]{1,2})?$", "examples": ["12.34"]}
    ),
]
"""A Pydantic field given as yuan text (``"12.34"``) and held as fen (``1234``)."""
