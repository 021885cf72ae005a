from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ihospital.core.ids import (
    EARLIEST_BIRTH_DATE,
    InvalidResidentId,
    age_on,
    check_character,
    mask_resident_id,
    normalise_resident_id,
    parse_resident_id,
)

TODAY = date(2026, 11, 23)
# Published example of GB 11643-1999 (Beijing Chaoyang, born 1949-12-31, female).
EXAMPLE = "11010519491231002X"


def with_check(first17: str) -> str:
    return first17 + check_character(first17)


@st.composite
def resident_ids(draw: st.DrawFn) -> tuple[str, date, str]:
    region = str(draw(st.integers(100000, 999999)))
    birth = draw(st.dates(min_value=EARLIEST_BIRTH_DATE, max_value=TODAY))
    order = draw(st.integers(0, 99))
    sex_digit = draw(st.integers(0, 9))
    number = with_check(f"{region}{birth:%Y%m%d}{order:02d}{sex_digit}")
    return number, birth, "male" if sex_digit % 2 else "female"


def test_published_example_is_valid_and_read_correctly():
    resident = parse_resident_id(EXAMPLE, today=TODAY)
    assert resident.region_code == "110105"
    assert resident.birth_date == date(1949, 12, 31)
    assert resident.sex == "female"
    assert resident.masked == "1101**********002X"
    assert resident.age_on(TODAY) == 76


def test_lowercase_check_character_is_normalised_to_x():
    assert parse_resident_id(EXAMPLE.lower(), today=TODAY).number == EXAMPLE
    assert normalise_resident_id(f"  {EXAMPLE.lower()} ") == EXAMPLE


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "length"),
        ("11010519491231002", "length"),
        ("11010519491231002X1", "length"),
        ("1101051949123100AX", "characters"),
        ("11010519491231002Y", "characters"),
        ("１１０１０５１９４９１２３１００２X", "characters"),  # full-width digits
        ("110105194912310021", "check_digit"),
        (with_check("01010519491231002"), "region"),
        (with_check("11010519490231002"), "birth_date"),
        (with_check("11010500000101002"), "birth_date"),
        (with_check("11010518991231002"), "too_old"),
        (with_check("11010520261124002"), "future"),
    ],
)
def test_each_kind_of_bad_number_is_refused_with_its_reason(value, reason):
    with pytest.raises(InvalidResidentId) as caught:
        parse_resident_id(value, today=TODAY)
    assert caught.value.reason == reason
    assert str(caught.value)  # an English message id, shown translated


def test_birth_today_is_accepted_but_tomorrow_is_not():
    assert parse_resident_id(with_check("11010520261123001"), today=TODAY).age_on(TODAY) == 0
    with pytest.raises(InvalidResidentId, match="future"):
        parse_resident_id(with_check("11010520261124001"), today=TODAY)


def test_messages_are_distinct_per_failure():
    reasons = ["length", "characters", "check_digit", "region", "birth_date", "future", "too_old"]
    messages = {str(InvalidResidentId(reason)) for reason in reasons}
    assert len(messages) == len(reasons)


@pytest.mark.parametrize(
    ("birth", "day", "age"),
    [
        (date(2020, 11, 23), date(2026, 11, 23), 6),
        (date(2020, 11, 24), date(2026, 11, 23), 5),
        (date(2000, 2, 29), date(2025, 2, 28), 24),
        (date(2000, 2, 29), date(2025, 3, 1), 25),
        (date(2000, 2, 29), date(2024, 2, 29), 24),
    ],
)
def test_age_counts_whole_years(birth, day, age):
    assert age_on(birth, day) == age


@given(resident_ids())
def test_any_valid_number_validates_and_round_trips(case):
    number, birth, sex = case
    resident = parse_resident_id(number, today=TODAY)
    assert resident.number == number
    assert resident.birth_date == birth
    assert resident.sex == sex
    assert resident.region_code == number[:6]


@given(resident_ids(), st.integers(0, 17), st.sampled_from("0123456789X"))
def test_changing_any_single_character_is_caught(case, position, replacement):
    number = case[0]
    if number[position] == replacement:
        replacement = "0" if replacement != "0" else "1"
    changed = number[:position] + replacement + number[position + 1 :]
    with pytest.raises(InvalidResidentId):
        parse_resident_id(changed, today=TODAY)


@given(resident_ids())
def test_mask_never_reveals_the_middle(case):
    number = case[0]
    masked = mask_resident_id(number)
    assert len(masked) == 18
    assert masked[:4] == number[:4]
    assert masked[-4:] == number[-4:]
    assert masked[4:14] == "*" * 10
