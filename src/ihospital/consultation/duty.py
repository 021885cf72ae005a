"""The doctor's working session (出诊会话, R04): nobody and no software stands in for the doctor.

Before accepting, replying in, transferring, closing or signing for a consultation the doctor
verifies their identity: they re-enter their password, and their licence on record must be
verified (active). Each verification is a :class:`DoctorWorkSession` tied to the licence number
and to the signed-in session (browser cookie or API token) it was opened in: it serves only that
session, and ends when the doctor ends it, after :data:`WORK_SESSION_HOURS`, or when that session
ends (signed out, expired or revoked). It is audited and published. A wrong password counts toward
the account's login lockout like a wrong login password; a locked account is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import Select, and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.consultation.duty_models import DoctorWorkSession
from ihospital.consultation.events import DOCTOR_VERIFIED
from ihospital.core.context import Actor
from ihospital.directory.access import own_practitioner
from ihospital.directory.models import Practitioner
from ihospital.errors import Forbidden, RuleViolation, Unprocessable
from ihospital.identity.auth import password_again
from ihospital.identity.models import Account, AuthSession
from ihospital.identity.policy import AuthPolicy
from ihospital.outbox.service import emit

WORK_SESSION_HOURS = 8
VERIFY_LINK = "/doctor/work-session"
SESSION_REQUIRED_MESSAGE = (
    "Verify your identity to start your working session before acting in consultations."
)


def session_required() -> Forbidden:
    return Forbidden(
        "consultation.doctor_session_required", SESSION_REQUIRED_MESSAGE, link=VERIFY_LINK
    )


def _in_signed_in_session(query: Select, actor: Actor) -> Select:
    """Only the working sessions opened in the actor's signed-in session, while that session
    lasts. One opened by a service call outside any request (no signed-in session) serves only
    such calls: a request always comes by a signed-in session."""
    if actor.auth_session_id is None:
        return query.where(DoctorWorkSession.auth_session_id.is_(None))
    return query.join(AuthSession, AuthSession.id == DoctorWorkSession.auth_session_id).where(
        AuthSession.id == actor.auth_session_id,
        AuthSession.revoked_at.is_(None),
        AuthSession.expires_at > actor.clock.now(),
    )


async def current_work_session(
    session: AsyncSession, actor: Actor, practitioner: Practitioner
) -> DoctorWorkSession | None:
    """The doctor's working session valid now, tied to their current licence and to the
    signed-in session they act in, if any."""
    query = select(DoctorWorkSession).where(
        DoctorWorkSession.practitioner_id == practitioner.id,
        DoctorWorkSession.account_id == actor.account_id,
        DoctorWorkSession.licence_number == practitioner.licence_number,
        DoctorWorkSession.ended_at.is_(None),
        DoctorWorkSession.expires_at > actor.clock.now(),
    )
    return await session.scalar(
        _in_signed_in_session(query, actor).order_by(DoctorWorkSession.expires_at.desc()).limit(1)
    )


async def require_work_session(
    session: AsyncSession, actor: Actor, practitioner: Practitioner
) -> DoctorWorkSession:
    """The doctor's valid working session; refused (403 with the link to verify) without one,
    or when their licence is no longer verified."""
    current = await current_work_session(session, actor, practitioner)
    if current is None or practitioner.verification_status != "verified":
        raise session_required()
    return current


async def doctors_at_work(
    session: AsyncSession, doctors: Sequence[tuple[Actor, Practitioner]]
) -> set[int]:
    """The accounts among ``doctors`` (each acting doctor with their practitioner record) that
    :func:`require_work_session` would let act, in one query for all: a valid working session
    tied to their current licence and to the signed-in session they act in, and the licence
    verified (R04). For work done for many doctors at once (the chat's batched sends); their
    actors share the app's clock, read once."""
    if not doctors:
        return set()
    now = doctors[0][0].clock.now()
    rows = await session.execute(
        select(
            DoctorWorkSession.account_id,
            DoctorWorkSession.auth_session_id,
            DoctorWorkSession.practitioner_id,
            DoctorWorkSession.licence_number,
        )
        .outerjoin(AuthSession, AuthSession.id == DoctorWorkSession.auth_session_id)
        .where(
            DoctorWorkSession.account_id.in_({actor.account_id for actor, _ in doctors}),
            DoctorWorkSession.ended_at.is_(None),
            DoctorWorkSession.expires_at > now,
            or_(
                DoctorWorkSession.auth_session_id.is_(None),
                and_(AuthSession.revoked_at.is_(None), AuthSession.expires_at > now),
            ),
        )
    )
    valid = {tuple(row) for row in rows}
    return {
        actor.account_id
        for actor, practitioner in doctors
        if actor.account_id is not None
        and practitioner.verification_status == "verified"
        and (actor.account_id, actor.auth_session_id, practitioner.id, practitioner.licence_number)
        in valid
    }


async def start_work_session(
    session: AsyncSession, actor: Actor, *, password: str, policy: AuthPolicy
) -> DoctorWorkSession:
    """Verify the signed-in doctor (password again, licence on record verified) and open a
    working session of :data:`WORK_SESSION_HOURS` in their signed-in session (R04). A failure
    is audited and refused; a wrong password counts toward the login lockout (``policy``), and
    a locked account gets the lockout answer. Routes wrap the call in
    :func:`ihospital.identity.auth.keeping_failed_attempts`."""
    practitioner = await own_practitioner(session, actor)
    account = await session.get(Account, actor.account_id, with_for_update=True)
    assert account is not None  # the actor's own account: a request signed in with it
    reason = None
    if not await password_again(
        session, actor, account=account, password=password, policy=policy, purpose="work_session"
    ):
        reason = "password"
    elif practitioner.verification_status != "verified":
        reason = "licence"
    if reason is not None:
        await record(
            session,
            actor,
            action="consultation.doctor_verification_failed",
            subject_type="practitioner",
            subject_id=practitioner.id,
            details={"reason": reason},
        )
        if reason == "password":
            raise Unprocessable(
                "consultation.doctor_password_wrong",
                "The password is wrong; your identity could not be verified.",
                field="password",
            )
        raise RuleViolation(
            "R04", "Your licence on record is not verified; you cannot start a working session."
        )
    now = actor.clock.now()
    work = DoctorWorkSession(
        practitioner_id=practitioner.id,
        account_id=account.id,
        auth_session_id=actor.auth_session_id,
        licence_number=practitioner.licence_number,
        method="password",
        verified_at=now,
        expires_at=now + timedelta(hours=WORK_SESSION_HOURS),
    )
    session.add(work)
    await session.flush()
    details = {"work_session_id": work.id, "expires_at": work.expires_at.isoformat()}
    await record(
        session,
        actor,
        action=DOCTOR_VERIFIED,
        subject_type="practitioner",
        subject_id=practitioner.id,
        details={**details, "method": work.method},
    )
    payload = {"topic": DOCTOR_VERIFIED, "practitioner_id": practitioner.id, **details}
    await emit(session, actor, topic=DOCTOR_VERIFIED, payload=payload)
    return work


async def end_work_session(session: AsyncSession, actor: Actor) -> None:
    """The doctor ends their working session(s) now (audited)."""
    practitioner = await own_practitioner(session, actor)
    await session.execute(
        update(DoctorWorkSession)
        .where(
            DoctorWorkSession.practitioner_id == practitioner.id,
            DoctorWorkSession.ended_at.is_(None),
        )
        .values(ended_at=actor.clock.now())
    )
    await record(
        session,
        actor,
        action="consultation.doctor_session_ended",
        subject_type="practitioner",
        subject_id=practitioner.id,
    )
