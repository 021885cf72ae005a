"""What the supervision dashboard counts: the sets of cases behind each figure, and who sees
which institutions.

Every figure is the size of a set of cases (or a median over one), and the drill-down lists
that very set, so a number and the list behind it cannot disagree. Over a period of Beijing
days (:class:`~ihospital.billing.finance.Period`, both ends included):

- ``consultations``: consultations started in the period (any status), by type;
- ``consultations_accepted``: those of them a doctor accepted; the response time is from
  entering the doctor's queue (paid, or started when free) to acceptance;
- ``prescriptions``: prescriptions (each signed version) issued in the period;
- ``prescriptions_reviewed``: those of them a pharmacist decided; the review time is from
  issue to decision; ``prescriptions_rejected`` those rejected (rejection rate =
  rejected / reviewed);
- ``pharmacy_orders``: drug orders placed in the period;
- ``appointments``: confirmed appointments whose visit day is in the period;
  ``appointments_marked`` those with an attendance outcome and ``appointments_no_show`` those
  marked no-show (爽约; no-show rate = no-shows / marked);
- ``alerts``: supervision alerts opened in the period, by rule and severity;
- ``reviews``: patients' reviews (评价) written in the period; ``complaints`` those that are
  complaints. There is no separate complaint channel: a complaint is a review of 1–2 stars or
  one held for its wording (held, or rejected after being held); complaint rate =
  complaints / reviews.

A regulator sees the institutions of their region (GB/T 2260), an institution admin their own,
a platform admin all; an institution outside that is not found (404).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.billing.finance import Period
from ihospital.booking.dayof_models import Visit
from ihospital.booking.models import Appointment
from ihospital.consultation.models import Consultation
from ihospital.consultation.reviews.models import ConsultationReview
from ihospital.core.context import Actor
from ihospital.db import seconds_between
from ihospital.directory.institutions import region_matches
from ihospital.directory.models import Institution
from ihospital.directory.regions import covers
from ihospital.errors import Forbidden, NotFound
from ihospital.pharmacy.models import PharmacyOrder
from ihospital.prescribing.models import Prescription
from ihospital.security.permissions import Role
from ihospital.supervision.models import SupervisionAlert
from ihospital.supervision.rule_settings import regulator_region

COMPLAINT_STARS = 2  # a review of at most this many stars is a complaint
METRICS_INSTITUTION_NOT_FOUND_MESSAGE = "Institution {institution_id} was not found in your scope."
METRICS_REGION_NOT_FOUND_MESSAGE = "Region {region_code} is not in your scope."
METRICS_NO_INSTITUTION_MESSAGE = "Your account belongs to no institution."

CONSULTATION, PRESCRIPTION, PHARMACY_ORDER, APPOINTMENT, ALERT = (
    "consultation",
    "prescription",
    "pharmacy_order",
    "appointment",
    "alert",
)


@dataclass(frozen=True)
class Scope:
    """The institutions a reader's figures cover: ``institution_id`` (one) if set, and within
    every region of ``regions`` (a regulator's region, one area of it asked for); neither: all
    (a platform admin)."""

    institution_id: int | None
    regions: tuple[str, ...] = ()

    def institutions(self) -> Select[Any]:
        """The ids, names and regions of the institutions in scope, by region and name."""
        statement = select(
            Institution.id, Institution.name, Institution.region_code, Institution.region_name
        ).order_by(Institution.region_code, Institution.name)
        return statement.where(self.condition(Institution.id))

    def condition(self, column: Any) -> ColumnElement[bool]:
        """``column`` (an institution id) is in scope."""
        conditions = []
        if self.institution_id is not None:
            conditions.append(column == self.institution_id)
        if self.regions:
            within = [region_matches(Institution.region_code, code) for code in self.regions]
            conditions.append(column.in_(select(Institution.id).where(*within)))
        return and_(true(), *conditions)


async def reader_scope(
    session: AsyncSession,
    actor: Actor,
    institution_id: int | None,
    region_code: str | None = None,
) -> Scope:
    """The institutions ``actor`` reads, narrowed to the area ``region_code`` and to
    ``institution_id`` when given (404 when either is outside the reader's institution or
    region)."""
    if actor.role == Role.REGULATOR:
        scope = Scope(None, (regulator_region(actor),))
    elif actor.role == Role.PLATFORM_ADMIN:
        scope = Scope(None)
    elif actor.institution_id is None:
        raise Forbidden("supervision.metrics_no_institution", METRICS_NO_INSTITUTION_MESSAGE)
    else:
        scope = Scope(actor.institution_id)
    if region_code is not None:
        if actor.role == Role.REGULATOR and not covers(actor.region_code, region_code):
            raise NotFound(
                "supervision.metrics_region_not_found",
                METRICS_REGION_NOT_FOUND_MESSAGE,
                field="region_code",
                region_code=region_code,
            )
        scope = Scope(scope.institution_id, (*scope.regions, region_code))
    if institution_id is None:
        return scope
    found = await session.scalar(
        select(Institution.id).where(
            Institution.id == institution_id, scope.condition(Institution.id)
        )
    )
    if found is None:
        raise NotFound(
            "supervision.metrics_institution_not_found",
            METRICS_INSTITUTION_NOT_FOUND_MESSAGE,
            field="institution_id",
            institution_id=institution_id,
        )
    return Scope(institution_id, scope.regions)


@dataclass(frozen=True)
class CaseSet:
    """The cases behind one figure: rows of ``kind`` from ``source`` (with its joins) meeting
    ``conditions``; ``institution`` is the column saying whose case it is, ``at`` the moment
    (or day) it is listed by and ``seconds`` the duration a median is taken over, if any."""

    kind: str
    source: Any
    institution: Any
    at: Any
    conditions: list[ColumnElement[bool]]
    seconds: Any = None

    def where(self, scope: Scope, *more: ColumnElement[bool]) -> list[ColumnElement[bool]]:
        return [*self.conditions, scope.condition(self.institution), *more]


def _in(column: Any, period: Period) -> list[ColumnElement[bool]]:
    first, last = period.bounds()
    return [column >= first, column < last]


def _consultations(period: Period, *more: ColumnElement[bool], seconds: Any = None) -> CaseSet:
    return CaseSet(
        CONSULTATION,
        Consultation,
        Consultation.institution_id,
        Consultation.created_at,
        [*_in(Consultation.created_at, period), *more],
        seconds,
    )


def _prescriptions(period: Period, *more: ColumnElement[bool], seconds: Any = None) -> CaseSet:
    return CaseSet(
        PRESCRIPTION,
        Prescription,
        Prescription.institution_id,
        Prescription.issued_at,
        [*_in(Prescription.issued_at, period), *more],
        seconds,
    )


def _appointments(period: Period, outcome: ColumnElement[bool] | None = None) -> CaseSet:
    conditions = [
        Appointment.day >= period.start,
        Appointment.day <= period.end,
        Appointment.status == "confirmed",
    ]
    source: Any = Appointment
    if outcome is not None:
        source = Appointment.__table__.join(Visit, Visit.appointment_id == Appointment.id)
        conditions.append(outcome)
    return CaseSet(APPOINTMENT, source, Appointment.institution_id, Appointment.day, conditions)


def _reviews(period: Period, *more: ColumnElement[bool]) -> CaseSet:
    return CaseSet(
        CONSULTATION,
        Consultation.__table__.join(
            ConsultationReview, ConsultationReview.consultation_id == Consultation.id
        ),
        ConsultationReview.institution_id,
        ConsultationReview.created_at,
        [*_in(ConsultationReview.created_at, period), *more],
    )


RESPONSE_SECONDS = seconds_between(Consultation.accepted_at, Consultation.waiting_since)
REVIEW_SECONDS = seconds_between(Prescription.reviewed_at, Prescription.issued_at)
IS_COMPLAINT = or_(
    ConsultationReview.stars <= COMPLAINT_STARS, ConsultationReview.status.in_(("held", "rejected"))
)

CASE_SETS: dict[str, Callable[[Period], CaseSet]] = {
    "consultations": _consultations,
    "consultations_accepted": lambda period: _consultations(
        period,
        Consultation.accepted_at.is_not(None),
        Consultation.waiting_since.is_not(None),
        seconds=RESPONSE_SECONDS,
    ),
    "prescriptions": _prescriptions,
    "prescriptions_reviewed": lambda period: _prescriptions(
        period, Prescription.reviewed_at.is_not(None), seconds=REVIEW_SECONDS
    ),
    "prescriptions_rejected": lambda period: _prescriptions(
        period, Prescription.reviewed_at.is_not(None), Prescription.status == "rejected"
    ),
    "pharmacy_orders": lambda period: CaseSet(
        PHARMACY_ORDER,
        PharmacyOrder,
        PharmacyOrder.institution_id,
        PharmacyOrder.created_at,
        _in(PharmacyOrder.created_at, period),
    ),
    "appointments": _appointments,
    "appointments_marked": lambda period: _appointments(period, Visit.outcome.is_not(None)),
    "appointments_no_show": lambda period: _appointments(period, Visit.outcome == "no_show"),
    "alerts": lambda period: CaseSet(
        ALERT,
        SupervisionAlert,
        SupervisionAlert.institution_id,
        SupervisionAlert.opened_at,
        _in(SupervisionAlert.opened_at, period),
    ),
    "reviews": _reviews,
    "complaints": lambda period: _reviews(period, IS_COMPLAINT),
}
METRICS = tuple(CASE_SETS)


async def readable_institutions(session: AsyncSession, actor: Actor) -> list[tuple[int, str]]:
    """The ids and names of every institution the reader's figures may cover (the choices of
    the dashboard's institution filter)."""
    scope = await reader_scope(session, actor, None)
    rows = await session.execute(scope.institutions())
    return [(found_id, name) for found_id, name, _, _ in rows.all()]
