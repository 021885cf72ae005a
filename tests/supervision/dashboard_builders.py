"""A seeded region for the supervision dashboard: two institutions in Beijing (朝阳 and 海淀)
and one in Wuhan, with consultations, prescriptions, pharmacy orders, appointments, reviews and
alerts at known moments, so every figure of the dashboard is known in advance.

The period of the figures is 2026-11-01 to 2026-11-23 (Beijing days); one case of each kind
lies before it and must never count."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.booking.dayof_models import Visit
from ihospital.booking.models import Appointment, ScheduleSession, Slot
from ihospital.consultation.models import Consultation
from ihospital.consultation.reviews.models import ConsultationReview
from ihospital.core.clock import Clock
from ihospital.directory.models import Institution
from ihospital.directory.views import PractitionerView
from ihospital.identity.models import Account, Patient
from ihospital.pharmacy.models import PharmacyOrder
from ihospital.prescribing.models import Drug, Prescription
from ihospital.supervision.models import SupervisionAlert
from tests.directory.builders import make_doctor, make_institution
from tests.identity.builders import make_account, make_patient
from tests.pharmacy.order_builders import make_pharmacy
from tests.prescribing.builders import Line, make_drug, make_prescription

FROM, TO = date(2026, 11, 1), date(2026, 11, 23)
BEFORE = datetime(2026, 10, 20, 2, 0, tzinfo=UTC)  # outside the period
IN_PERIOD = datetime(2026, 11, 10, 2, 0, tzinfo=UTC)  # 10:00 in Beijing
_numbers = itertools.count(1)


@dataclass
class Site:
    institution: Institution
    doctor: PractitionerView
    admin: Account
    consultations: list[Consultation] = field(default_factory=list)
    prescriptions: list[Prescription] = field(default_factory=list)
    appointments: list[Appointment] = field(default_factory=list)
    alerts: list[SupervisionAlert] = field(default_factory=list)


@dataclass
class DashboardWorld:
    chaoyang: Site
    haidian: Site
    wuhan: Site
    patient: Patient
    regulator: Account  # of Beijing
    wuhan_regulator: Account


async def make_site(session: AsyncSession, clock: Clock, region: str, name: str) -> Site:
    institution = await make_institution(
        session,
        clock=clock,
        region_code=region,
        region_name=name,
        name=f"{name}医院{next(_numbers)}",
    )
    doctor = await make_doctor(session, clock=clock, institution=institution)
    admin = await make_account(
        session, role="institution_admin", institution_id=institution.id, clock=clock
    )
    return Site(institution, doctor, admin)


async def _regulator(session: AsyncSession, clock: Clock, region_code: str) -> Account:
    account = await make_account(session, role="regulator", clock=clock)
    account.region_code = region_code
    return account


async def consultation(
    session: AsyncSession,
    site: Site,
    patient: Patient,
    *,
    kind: str = "text",
    created_at: datetime = IN_PERIOD,
    wait_minutes: int | None = None,
) -> Consultation:
    """A consultation started at ``created_at`` (entering the queue then), accepted after
    ``wait_minutes`` and closed, or cancelled unaccepted when no wait is given."""
    accepted = None if wait_minutes is None else created_at + timedelta(minutes=wait_minutes)
    row = Consultation(
        account_id=patient.account_id,
        patient_id=patient.id,
        practitioner_id=site.doctor.id,
        institution_id=site.institution.id,
        consultation_type=kind,
        status="cancelled" if accepted is None else "closed",
        cancel_reason="not_accepted" if accepted is None else None,
        close_reason=None if accepted is None else "doctor",
        complaint="血压控制不佳",
        fee_fen=0,
        patient_name=patient.name,
        patient_sex="male",
        patient_age=45,
        patient_verified=True,
        guardian_required=False,
        created_at=created_at,
        paid_at=created_at,
        waiting_since=created_at,
        accepted_at=accepted,
        ended_at=created_at + timedelta(hours=2),
    )
    session.add(row)
    await session.flush()
    site.consultations.append(row)
    return row


async def prescription(
    session: AsyncSession,
    clock: Clock,
    site: Site,
    drug: Drug,
    of: Consultation,
    *,
    status: str,
    issued_at: datetime = IN_PERIOD,
    review_minutes: int | None = None,
) -> Prescription:
    row = await make_prescription(
        session, clock=clock, doctor=site.doctor, consultation=of, lines=[Line(drug)], status=status
    )
    row.issued_at = issued_at
    if review_minutes is not None:
        row.reviewed_at = issued_at + timedelta(minutes=review_minutes)
    await session.flush()
    site.prescriptions.append(row)
    return row


async def pharmacy_order(
    session: AsyncSession,
    clock: Clock,
    site: Site,
    of: Prescription,
    *,
    created_at: datetime = IN_PERIOD,
) -> PharmacyOrder:
    pharmacy = await make_pharmacy(
        session, clock=clock, institution_id=site.institution.id, name=f"院内药房{next(_numbers)}"
    )
    order = PharmacyOrder(
        number=f"PO{next(_numbers):08d}",
        prescription_id=of.id,
        patient_id=of.patient_id,
        account_id=site.consultations[0].account_id,
        institution_id=site.institution.id,
        pharmacy_id=pharmacy.id,
        status="paid",
        fulfilment="pickup",
        cold_chain=False,
        pickup_code="123456",
        pickup_attempts=0,
        drugs_fen=1000,
        delivery_fee_fen=0,
        risk_notice_confirmed_at=created_at,
        created_at=created_at,
    )
    session.add(order)
    await session.flush()
    return order


async def appointment(
    session: AsyncSession,
    site: Site,
    patient: Patient,
    *,
    day: date,
    status: str = "confirmed",
    outcome: str | None = None,
) -> Appointment:
    """An appointment on ``day`` in a session of its own, with the attendance ``outcome``."""
    starts = datetime(day.year, day.month, day.day, 1, 0, tzinfo=UTC)
    booking_session = ScheduleSession(
        institution_id=site.institution.id,
        practitioner_id=site.doctor.id,
        department_code="03.04",
        day=day,
        half_day="morning",
        starts_at=starts,
        ends_at=starts + timedelta(hours=3),
        visit_type="in_person",
        fee_class="general",
        fee_fen=0,
        capacity=1,
        slot_minutes=180,
        status="open",
        created_at=starts - timedelta(days=7),
    )
    session.add(booking_session)
    await session.flush()
    slot = Slot(
        session_id=booking_session.id,
        position=1,
        starts_at=starts,
        ends_at=starts + timedelta(hours=3),
        capacity=1,
        booked=1,
    )
    session.add(slot)
    await session.flush()
    row = Appointment(
        slot_id=slot.id,
        session_id=booking_session.id,
        institution_id=site.institution.id,
        practitioner_id=site.doctor.id,
        patient_id=patient.id,
        account_id=patient.account_id,
        day=day,
        status=status,
        idempotency_key=f"dash-{next(_numbers)}",
        created_at=starts - timedelta(days=3),
        cancelled_at=starts - timedelta(days=1) if status == "cancelled" else None,
        cancel_reason="patient" if status == "cancelled" else None,
    )
    session.add(row)
    await session.flush()
    if outcome is not None:
        session.add(
            Visit(
                appointment_id=row.id,
                session_id=booking_session.id,
                outcome=outcome,
                outcome_at=starts + timedelta(hours=3),
            )
        )
        await session.flush()
    site.appointments.append(row)
    return row


async def review(
    session: AsyncSession,
    of: Consultation,
    *,
    stars: int,
    status: str = "published",
    created_at: datetime = IN_PERIOD,
) -> ConsultationReview:
    row = ConsultationReview(
        consultation_id=of.id,
        account_id=of.account_id,
        patient_id=of.patient_id,
        practitioner_id=of.practitioner_id,
        institution_id=of.institution_id,
        patient_name_masked="张*",
        stars=stars,
        tags="",
        text=None,
        status=status,
        held_words="骗子" if status == "held" else None,
        created_at=created_at,
    )
    session.add(row)
    await session.flush()
    return row


async def alert(
    session: AsyncSession,
    site: Site,
    *,
    rule_id: str,
    severity: str,
    opened_at: datetime = IN_PERIOD,
) -> SupervisionAlert:
    row = SupervisionAlert(
        rule_id=rule_id,
        subject=f"consultation:{next(_numbers)}",
        severity=severity,
        institution_id=site.institution.id,
        region_code=site.institution.region_code,
        patient_id=None,
        details="{}",
        status="open",
        occurrences=1,
        opened_at=opened_at,
        last_seen_at=opened_at,
    )
    session.add(row)
    await session.flush()
    site.alerts.append(row)
    return row


async def make_dashboard_world(session: AsyncSession, clock: Clock) -> DashboardWorld:
    """The seeded region (see the module's docstring). The figures in the period:

    - 朝阳: consultations text 3, voice 1, video 1 (accepted after 10, 20, 40 and 5 minutes:
      median 10 min); prescriptions 3 (reviewed after 6 and 2 minutes, one rejected; one
      waiting: median 2 min, rejection 1/2); 1 pharmacy order; appointments 4 (2 attended,
      1 no-show, 1 unmarked; 1 cancelled not counted); reviews 3 (5★, 2★, a held 4★:
      2 complaints); alerts R13.3/medium 2, R06/high 1.
    - 海淀: 1 text consultation accepted after 30 minutes; 1 prescription reviewed after
      10 minutes; 1 attended appointment; 1 review 1★; 1 alert R13.3/medium.
    - Beijing in total: response median 20 min (5, 10, 20, 30, 40), review median 6 min
      (2, 6, 10).
    - Wuhan: 1 text consultation accepted after 1 minute, 1 alert (never in Beijing's figures).
    """
    chaoyang = await make_site(session, clock, "110105", "北京市朝阳区")
    haidian = await make_site(session, clock, "110108", "北京市海淀区")
    wuhan = await make_site(session, clock, "420102", "武汉市江岸区")
    patient = await make_patient(session, clock=clock)
    drug = await make_drug(session, clock=clock)

    text_a = await consultation(session, chaoyang, patient, wait_minutes=10)
    text_b = await consultation(session, chaoyang, patient, wait_minutes=20)
    text_c = await consultation(session, chaoyang, patient, wait_minutes=40)
    await consultation(session, chaoyang, patient, kind="voice")
    await consultation(session, chaoyang, patient, kind="video", wait_minutes=5)
    earlier = await consultation(session, chaoyang, patient, created_at=BEFORE, wait_minutes=99)
    approved = await prescription(
        session, clock, chaoyang, drug, text_a, status="approved", review_minutes=6
    )
    await prescription(session, clock, chaoyang, drug, text_b, status="rejected", review_minutes=2)
    await prescription(session, clock, chaoyang, drug, text_c, status="pending_review")
    await prescription(
        session,
        clock,
        chaoyang,
        drug,
        earlier,
        status="approved",
        issued_at=BEFORE,
        review_minutes=1,
    )
    await pharmacy_order(session, clock, chaoyang, approved)
    day = date(2026, 11, 20)
    for outcome in ("attended", "attended", "no_show", None):
        await appointment(session, chaoyang, patient, day=day, outcome=outcome)
    await appointment(session, chaoyang, patient, day=day, status="cancelled")
    await appointment(session, chaoyang, patient, day=date(2026, 10, 20), outcome="no_show")
    await review(session, text_a, stars=5)
    await review(session, text_b, stars=2)
    await review(session, text_c, stars=4, status="held")
    await review(session, earlier, stars=1, created_at=BEFORE)
    await alert(session, chaoyang, rule_id="R13.3", severity="medium")
    await alert(session, chaoyang, rule_id="R13.3", severity="medium")
    await alert(session, chaoyang, rule_id="R06", severity="high")
    await alert(session, chaoyang, rule_id="R06", severity="high", opened_at=BEFORE)

    haidian_text = await consultation(session, haidian, patient, wait_minutes=30)
    await prescription(
        session, clock, haidian, drug, haidian_text, status="approved", review_minutes=10
    )
    await appointment(session, haidian, patient, day=day, outcome="attended")
    await review(session, haidian_text, stars=1)
    await alert(session, haidian, rule_id="R13.3", severity="medium")

    wuhan_text = await consultation(session, wuhan, patient, wait_minutes=1)
    await review(session, wuhan_text, stars=1)
    await alert(session, wuhan, rule_id="R13.3", severity="medium")
    return DashboardWorld(
        chaoyang,
        haidian,
        wuhan,
        patient,
        await _regulator(session, clock, "110000"),
        await _regulator(session, clock, "420100"),
    )
