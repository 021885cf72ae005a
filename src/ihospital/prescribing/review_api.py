"""JSON routes of the pharmacist's review (审方): the institution's queue, one prescription to
review, the decision, the reasons of the review standard and the review-time figures (also for
the institution's admins)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from ihospital.core.context import Actor
from ihospital.deps import DbSession, require
from ihospital.prescribing.review import decide_prescription, open_for_review, review_queue
from ihospital.prescribing.review_codes import review_reasons
from ihospital.prescribing.review_schemas import (
    DecisionCreate,
    DecisionRead,
    PrescriptionReviewRead,
    QueueEntryRead,
    ReasonRead,
    ReviewFiguresRead,
)
from ihospital.prescribing.review_statistics import ReviewFigures, review_figures
from ihospital.security.permissions import Permission

router = APIRouter(prefix="/api", tags=["prescription review"])

Pharmacist = Annotated[Actor, Depends(require(Permission.PRESCRIPTIONS_REVIEW))]
Manager = Annotated[Actor, Depends(require(Permission.INSTITUTION_MANAGE))]
Id = Annotated[int, Path(ge=1, le=2**63 - 1)]
Days = Annotated[int, Query(ge=1, le=90)]


def limit_minutes(request: Request) -> int:
    """The configured wait after which a prescription is overdue for review."""
    return request.app.state.settings.prescription_review_limit_minutes


async def figures_of(
    request: Request, session: DbSession, actor: Actor, *, institution_id: int, days: int
) -> ReviewFigures:
    """An institution's review figures with the configured overdue limit."""
    return await review_figures(
        session,
        actor,
        institution_id=institution_id,
        days=days,
        limit_minutes=limit_minutes(request),
    )


@router.get("/pharmacist/prescriptions")
async def queue(session: DbSession, actor: Pharmacist) -> list[QueueEntryRead]:
    """The institution's prescriptions waiting for review, oldest first, with their wait."""
    return [QueueEntryRead.of(entry) for entry in await review_queue(session, actor)]


@router.get("/pharmacist/prescriptions/{prescription_id}")
async def read(
    prescription_id: Id, session: DbSession, actor: Pharmacist
) -> PrescriptionReviewRead:
    """One prescription of the institution: items, diagnoses, patient, allergies and whether its
    signature verifies."""
    view = await open_for_review(session, actor, prescription_id=prescription_id)
    return PrescriptionReviewRead.of_view(view)


@router.post("/pharmacist/prescriptions/{prescription_id}/decision")
async def decide(
    prescription_id: Id, body: DecisionCreate, session: DbSession, actor: Pharmacist
) -> DecisionRead:
    """Approve the prescription, or reject it with reasons of the review standard and a note."""
    prescription = await decide_prescription(
        session,
        actor,
        prescription_id=prescription_id,
        decision=body.decision,
        reasons=body.reasons,
        note=body.note,
    )
    return DecisionRead.of(prescription)


@router.get("/prescription-review-reasons")
async def reasons(actor: Pharmacist) -> list[ReasonRead]:
    """The 28 reasons of 《处方点评管理规范》 by group (R20)."""
    return [ReasonRead.of(reason) for reason in review_reasons()]


@router.get("/pharmacist/review-statistics")
async def own_figures(
    request: Request, session: DbSession, actor: Pharmacist, days: Days = 30
) -> ReviewFiguresRead:
    """The review times of the pharmacist's institution over the last ``days`` days."""
    figures = await figures_of(
        request, session, actor, institution_id=actor.institution_id, days=days
    )
    return ReviewFiguresRead.of(figures)


@router.get("/institutions/{institution_id}/prescription-review-statistics")
async def institution_figures(
    institution_id: Id, request: Request, session: DbSession, actor: Manager, days: Days = 30
) -> ReviewFiguresRead:
    """The review times of an institution the admin manages over the last ``days`` days."""
    figures = await figures_of(request, session, actor, institution_id=institution_id, days=days)
    return ReviewFiguresRead.of(figures)
