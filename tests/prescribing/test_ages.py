"""The age a prescription states: years, or months and days for infants (R17)."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ihospital.prescribing.ages import prescription_age, whole_months


@pytest.mark.parametrize(
    ("birth", "day", "expected"),
    [
        (date(1980, 5, 20), date(2026, 5, 19), "45岁"),
        (date(1980, 5, 20), date(2026, 5, 20), "46岁"),
        (date(2025, 11, 27), date(2026, 11, 27), "1岁"),
        (date(2025, 11, 28), date(2026, 11, 27), "11月"),
        (date(2026, 3, 15), date(2026, 11, 27), "8月"),
        (date(2026, 10, 27), date(2026, 11, 27), "1月"),
        (date(2026, 10, 28), date(2026, 11, 27), "30天"),
        (date(2026, 11, 7), date(2026, 11, 27), "20天"),
        (date(2026, 11, 27), date(2026, 11, 27), "0天"),
        (date(2026, 1, 31), date(2026, 2, 28), "28天"),
    ],
)
def test_infants_are_aged_in_months_or_days(birth, day, expected):
    assert prescription_age(birth, day) == expected


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 1, 1)), st.integers(0, 800))
def test_whole_months_never_exceed_the_days_lived(birth, days):
    day = birth + timedelta(days=days)
    months = whole_months(birth, day)
    assert months >= 0 and days // 31 <= months <= days // 28
