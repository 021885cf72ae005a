"""Money: yuan text in, integer fen inside, never a float, never a rounded fen."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ihospital.core.money import (
    MAX_FEN,
    InvalidAmount,
    check_fen,
    fen_to_yuan,
    format_yuan,
    parse_yuan,
    yuan_to_fen,
)


@pytest.mark.parametrize(
    ("text", "fen"),
    [("12.34", 1234), ("12.3", 1230), ("12", 1200), ("0.01", 1), (" 7.00 ", 700), ("0", 0)],
)
def test_yuan_text_is_read_as_fen(text, fen):
    assert parse_yuan(text) == fen


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("12.345", "fraction"),
        ("0.001", "fraction"),
        ("-1", "negative"),
        ("-0.01", "negative"),
        ("1e3", "format"),
        ("", "format"),
        ("12.", "format"),
        (".5", "format"),
        ("１２", "format"),
        ("NaN", "format"),
        ("99999999999", "too_large"),
    ],
)
def test_bad_yuan_text_is_refused_with_its_reason(text, reason):
    with pytest.raises(InvalidAmount) as refused:
        parse_yuan(text)
    assert refused.value.reason == reason


def test_decimal_yuan_converts_exactly_or_not_at_all():
    assert yuan_to_fen(Decimal("19.99")) == 1999
    for value, reason in (
        (Decimal("0.005"), "fraction"),
        (Decimal("-3"), "negative"),
        (Decimal("NaN"), "format"),
        (Decimal("Infinity"), "format"),
    ):
        with pytest.raises(InvalidAmount) as refused:
            yuan_to_fen(value)
        assert refused.value.reason == reason


def test_stored_amounts_are_whole_fen_within_limits():
    assert check_fen(MAX_FEN) == MAX_FEN
    for value in (-1, MAX_FEN + 1, 1.5, True):
        with pytest.raises(InvalidAmount):
            check_fen(value)


def test_amounts_are_shown_in_yuan_with_two_decimals():
    assert format_yuan(1234) == "¥12.34"
    assert format_yuan(5) == "¥0.05"
    assert format_yuan(123456700) == "¥1,234,567.00"
    assert format_yuan(-1234) == "-¥12.34"
    assert fen_to_yuan(1230) == Decimal("12.30")


@given(st.integers(0, MAX_FEN))
def test_fen_to_yuan_text_and_back_is_exact(fen):
    assert parse_yuan(str(fen_to_yuan(fen))) == fen
    assert yuan_to_fen(fen_to_yuan(fen)) == fen
