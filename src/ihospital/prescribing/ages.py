"""The patient's age as a prescription states it (R17: infants in months or days)."""

from __future__ import annotations

from datetime import date

from ihospital.core.ids import age_on


def whole_months(birth_date: date, day: date) -> int:
    """Completed months of life on ``day``."""
    months = (day.year - birth_date.year) * 12 + day.month - birth_date.month
    return months - 1 if day.day < birth_date.day else months


def prescription_age(birth_date: date, day: date) -> str:
    """``45岁`` from one year on; under one year ``8月``; under one month ``20天`` (R17)."""
    years = age_on(birth_date, day)
    if years >= 1:
        return f"{years}岁"
    months = whole_months(birth_date, day)
    if months >= 1:
        return f"{months}月"
    return f"{(day - birth_date).days}天"
