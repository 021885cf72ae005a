"""JSON routes of scalper flags for an institution's admins."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from ihospital.booking.fairness.flags import list_flags, review_flag
from ihospital.booking.fairness.schemas import BookingFlagRead, FlagReview, FlagStatus
from ihospital.core.context import Actor
from ihospital.deps import DbSession, require
from ihospital.security.permissions import Permission

router = APIRouter(prefix="/api", tags=["booking"])

Scheduler = Annotated[Actor, Depends(require(Permission.SCHEDULES_MANAGE))]
InstitutionId = Annotated[int, Path(ge=1, le=2**63 - 1)]
FlagId = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.get("/institutions/{institution_id}/booking-flags")
async def booking_flags(
    institution_id: InstitutionId,
    session: DbSession,
    actor: Scheduler,
    status: Annotated[FlagStatus | None, Query()] = None,
) -> list[BookingFlagRead]:
    """Scalper flags (号贩子嫌疑) of the institution, latest first; ``status`` filters."""
    flags = await list_flags(session, actor, institution_id=institution_id, status=status)
    return [BookingFlagRead.model_validate(flag) for flag in flags]


@router.post("/institutions/{institution_id}/booking-flags/{flag_id}/review")
async def mark_reviewed(
    institution_id: InstitutionId,
    flag_id: FlagId,
    body: FlagReview,
    session: DbSession,
    actor: Scheduler,
) -> BookingFlagRead:
    """Review a flag: its outcome (legitimate or scalping) and a note."""
    flag = await review_flag(
        session,
        actor,
        institution_id=institution_id,
        flag_id=flag_id,
        outcome=body.outcome,
        note=body.note,
    )
    return BookingFlagRead.model_validate(flag)
