"""The reasons a pharmacist rejects a prescription: the 28 items of 《处方点评管理规范(试行)》
(卫医管发〔2010〕28号) in its three groups, 不规范处方 (``N01``–``N15``), 用药不适宜处方
(``I01``–``I09``) and 超常处方 (``E01``–``E04``) (R20).

The codes and their Chinese and English texts are data (``data/review_codes.csv``), read once.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from ihospital.errors import Unprocessable

CODES_FILE = Path(__file__).resolve().parent / "data" / "review_codes.csv"
GROUPS = ("nonstandard", "inappropriate", "abnormal")
GROUP_MESSAGES = {
    "nonstandard": "Non-standard prescription",
    "inappropriate": "Inappropriate use of drugs",
    "abnormal": "Abnormal prescription",
}
REASONS_MESSAGE = "Choose at least one reason from the list to reject a prescription."
REASONS_UNKNOWN_MESSAGE = "Choose reasons from the list only: {codes} is not one."
REASONS_WITH_APPROVAL_MESSAGE = "Reasons are given only with a rejection."


@dataclass(frozen=True)
class ReviewReason:
    """One item of the review standard: its code, group and text in Chinese and English."""

    code: str
    group: str
    text_zh: str
    text_en: str

    def text(self, language: str) -> str:
        return self.text_en if language == "en" else self.text_zh


@cache
def review_reasons() -> tuple[ReviewReason, ...]:
    """Every reason, in the standard's order."""
    with CODES_FILE.open(encoding="utf-8", newline="") as handle:
        reasons = tuple(ReviewReason(**row) for row in csv.DictReader(handle))
    if any(reason.group not in GROUPS for reason in reasons):
        raise ValueError(f"{CODES_FILE} names a group outside {GROUPS}")
    return reasons


def reasons_by_code() -> dict[str, ReviewReason]:
    return {reason.code: reason for reason in review_reasons()}


def grouped_reasons() -> list[tuple[str, list[ReviewReason]]]:
    """The reasons by group, in the standard's order (for the rejection form)."""
    return [
        (group, [reason for reason in review_reasons() if reason.group == group])
        for group in GROUPS
    ]


def checked_reasons(codes: Sequence[str], *, decision: str) -> list[str]:
    """The rejection ``codes`` deduplicated in the standard's order: a rejection needs at least
    one and only known ones; an approval none (R20)."""
    if decision == "approve":
        if codes:
            raise Unprocessable(
                "prescribing.reasons_with_approval", REASONS_WITH_APPROVAL_MESSAGE, field="reasons"
            )
        return []
    if not codes:
        raise Unprocessable("prescribing.reasons_required", REASONS_MESSAGE, field="reasons")
    known = reasons_by_code()
    unknown = [code for code in codes if code not in known]
    if unknown:
        raise Unprocessable(
            "prescribing.reason_unknown",
            REASONS_UNKNOWN_MESSAGE,
            field="reasons",
            codes=", ".join(unknown[:5])[:100],
        )
    return [reason.code for reason in review_reasons() if reason.code in codes]
