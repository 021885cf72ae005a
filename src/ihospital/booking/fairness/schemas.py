"""API shapes of scalper flags."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from ihospital.core.schemas import Schema

FlagReason = Literal["many_patients_one_doctor", "busy_device"]
FlagStatus = Literal["open", "reviewed"]
FlagOutcome = Literal["legitimate", "scalping"]


class FlagReview(Schema):
    """The review of a flag: ``legitimate`` (the bookings are genuine) or ``scalping``."""

    outcome: FlagOutcome
    note: str = Field(default="", max_length=500)


class BookingFlagRead(Schema):
    """One flag: ``many_patients_one_doctor`` counts the different 就诊人 the account booked
    with the doctor in 7 days; ``busy_device`` counts the device's bookings on ``day``, brought
    up to date at each multiple of the threshold."""

    id: int
    institution_id: int
    reason: FlagReason
    subject: str
    account_id: int | None
    practitioner_id: int | None
    device_hash: str | None
    count: int
    day: date
    status: FlagStatus
    raised_at: datetime
    updated_at: datetime
    reviewed_at: datetime | None
    reviewed_by_account_id: int | None
    outcome: FlagOutcome | None
    review_note: str | None
