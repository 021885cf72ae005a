"""The doctor's working session (R04) in the sign-ins that builders make: a working session
serves only the signed-in session it was opened in, so a doctor whom a builder put on duty
(:func:`tests.consultation.builders.on_duty`, outside any signed-in session) verifies again in
each session a builder signs them in with."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.consultation.duty_models import DoctorWorkSession
from ihospital.identity.models import AuthSession


async def on_duty_in(session: AsyncSession, auth_session: AuthSession) -> None:
    """Each open working session of the account opened outside any signed-in session gets its
    like, verified at the same time and lasting as long, in ``auth_session``."""
    builders_sessions = await session.scalars(
        select(DoctorWorkSession).where(
            DoctorWorkSession.account_id == auth_session.account_id,
            DoctorWorkSession.auth_session_id.is_(None),
            DoctorWorkSession.ended_at.is_(None),
        )
    )
    for work in list(builders_sessions):
        session.add(
            DoctorWorkSession(
                practitioner_id=work.practitioner_id,
                account_id=work.account_id,
                auth_session_id=auth_session.id,
                licence_number=work.licence_number,
                method=work.method,
                verified_at=work.verified_at,
                expires_at=work.expires_at,
            )
        )
    await session.flush()
