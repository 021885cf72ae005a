"""Builders of the consultation chat tests: a consultation the doctor has accepted, with the
API headers of its patient, its doctor, the doctor's colleague and another patient."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.consultation.models import Consultation
from ihospital.consultation.workstation import accept_consultation
from ihospital.core.clock import Clock
from ihospital.identity.models import Account
from tests.consultation.builders import Practice, doctor_actor, make_practice, start
from tests.directory.builders import bearer
from tests.identity.builders import make_patient


@dataclass
class Chat:
    practice: Practice
    consultation: Consultation
    patient: dict[str, str]
    doctor: dict[str, str]
    colleague: dict[str, str]
    stranger: dict[str, str]

    @property
    def patient_path(self) -> str:
        return f"/api/consultations/{self.consultation.id}/messages"

    @property
    def doctor_path(self) -> str:
        return f"/api/doctor/consultations/{self.consultation.id}/messages"


async def headers_of(session: AsyncSession, clock: Clock, account_id: int) -> dict[str, str]:
    """API headers with a fresh token of the account (tokens last an hour)."""
    account = await session.get(Account, account_id)
    assert account is not None
    return await bearer(session, clock=clock, account=account)


async def make_chat(
    session: AsyncSession, *, clock: Clock, accepted: bool = True, consultation_type: str = "text"
) -> Chat:
    """A free consultation (text unless ``consultation_type``), accepted by the doctor unless
    ``accepted`` is False."""
    practice = await make_practice(session, clock=clock, fee_fen=0)
    person = await make_patient(session, clock=clock)
    other = await make_patient(session, clock=clock)
    consultation = await start(
        session, clock, practice, person, consultation_type=consultation_type
    )
    if accepted:
        await accept_consultation(
            session, doctor_actor(clock, practice.doctor), consultation_id=consultation.id
        )
    await session.flush()
    return Chat(
        practice=practice,
        consultation=consultation,
        patient=await headers_of(session, clock, person.account_id),
        doctor=await headers_of(session, clock, practice.doctor.account_id),
        colleague=await headers_of(session, clock, practice.colleague.account_id),
        stranger=await headers_of(session, clock, other.account_id),
    )
