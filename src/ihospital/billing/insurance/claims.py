"""What a claim may hold: checks of the lines before anything is computed or changed."""

from __future__ import annotations

from collections.abc import Sequence

from ihospital.billing.insurance.engine import ClaimLine
from ihospital.billing.insurance.policy import DRUG_CLASSES
from ihospital.billing.models import LINE_KINDS, OrderLine
from ihospital.errors import Unprocessable

MAX_LINES = 100
MAX_LINE_FEN = 10**10  # ¥100,000,000.00 per line: far above any outpatient item


def check_claim_lines(lines: Sequence[ClaimLine]) -> None:
    """Refuse a claim with a malformed line, a 丙类 drug (paid by the patient, never claimed) or
    a first visit or health consultation (only online follow-up visits are covered, R01)."""
    if not 1 <= len(lines) <= MAX_LINES:
        raise Unprocessable(
            "insurance.lines_count",
            "A claim has 1 to {limit} lines.",
            limit=MAX_LINES,
            field="lines",
        )
    for number, line in enumerate(lines, start=1):
        amount = line.amount_fen
        if (
            isinstance(amount, bool)
            or not isinstance(amount, int)
            or not 0 < amount <= MAX_LINE_FEN
        ):
            raise Unprocessable(
                "insurance.amount_invalid",
                "Line {line}: the amount must be a whole number of fen above zero.",
                line=number,
            )
        if line.kind not in LINE_KINDS:
            raise Unprocessable(
                "insurance.kind_unknown", "Line {line}: unknown kind of item.", line=number
            )
        if (line.kind == "drug") != (line.drug_class in DRUG_CLASSES):
            raise Unprocessable(
                "insurance.drug_class_invalid",
                "Line {line}: a drug needs its class (A 甲类, B 乙类, C 丙类); other items have "
                "none.",
                line=number,
            )
        if line.drug_class == "C":
            raise Unprocessable(
                "insurance.class_c_not_claimable",
                "Line {line} is a 丙类 drug: insurance does not cover it, so it is paid by the "
                "patient and not claimed.",
                line=number,
            )
        if line.kind == "consultation" and not line.online_follow_up:
            raise Unprocessable(
                "insurance.first_visit_not_covered",
                "Line {line} is a first visit or health consultation: medical insurance covers "
                "only online follow-up visits (复诊).",
                line=number,
                rule_id="R01",
            )


def is_claimed(line: OrderLine) -> bool:
    """A bill's line sent to the insurance platform: every line except unclassed or 丙类 drugs."""
    return line.kind != "drug" or line.drug_class in ("A", "B")


def claim_line(line: OrderLine) -> ClaimLine:
    """What is left of a bill's line (its amount less what was refunded), as a claim line."""
    return ClaimLine(
        amount_fen=line.amount_fen - line.refunded_fen,
        kind=line.kind,
        drug_class=line.drug_class,
        online_follow_up=line.online_follow_up,
        order_line_id=line.id,
    )
