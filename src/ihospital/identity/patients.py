"""就诊人 (patient profiles) of an account: add, list, read, change, deactivate.

The resident ID number is encrypted at rest (purpose ``patient.id_number``), found through a
blind index and shown only masked; birth date and sex are read from it. An account holds at
most :data:`MAX_ACTIVE_PATIENTS` active 就诊人 and one "self"; an ID number belongs to one
active 就诊人 on the whole platform. Records are never deleted, only deactivated. Only the owning
account sees a 就诊人: any other caller is told it does not exist. Every read is audited.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Final, TypeVar

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.core.context import Actor
from ihospital.core.ids import InvalidResidentId, ResidentId, age_on, parse_resident_id
from ihospital.errors import Conflict, NotFound, Unprocessable
from ihospital.identity.accounts import validate_mobile
from ihospital.identity.models import Account, Patient
from ihospital.identity.providers import RealNameProvider
from ihospital.identity.realname import verify_realname
from ihospital.security.crypto import FieldCipher

MAX_ACTIVE_PATIENTS = 10
ID_NUMBER_PURPOSE = "patient.id_number"
RELATIONSHIPS = ("self", "child", "parent", "spouse", "sibling", "other")
NAME_MAX_LENGTH = 32

# Chinese characters (CJK blocks, extensions and compatibility) and Latin letters.
_LETTERS = (
    "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f"
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
)
NAME_PATTERN = re.compile(rf"^[{_LETTERS}]+(?:[· ][{_LETTERS}]+)*$")
_DOTS = str.maketrans({"・": "·", "•": "·", "‧": "·", "∙": "·"})

NAME_MESSAGE = (
    "Enter the name as on the ID card: Chinese or Latin letters, with · or a space between "
    "its parts."
)
NAME_LENGTH_MESSAGE = "Enter a name of 1 to 32 characters."
RELATIONSHIP_MESSAGE = "Choose one of: self, child, parent, spouse, sibling, other."


class _Keep:
    def __repr__(self) -> str:
        return "KEEP"


KEEP: Final = _Keep()
"""Default of :func:`update_patient` arguments: leave the value as it is."""

T = TypeVar("T")


def validate_patient_name(name: str) -> str:
    """A name as on the ID card: 1–32 Chinese or Latin letters, parts joined by ``·`` or a
    space (look-alike dots become ``·``). For Pydantic validators and the services."""
    name = " ".join(name.translate(_DOTS).split())
    if not 1 <= len(name) <= NAME_MAX_LENGTH:
        raise ValueError(NAME_LENGTH_MESSAGE)
    if not NAME_PATTERN.match(name):
        raise ValueError(NAME_MESSAGE)
    return name


def validate_relationship(relationship: str) -> str:
    if relationship not in RELATIONSHIPS:
        raise ValueError(RELATIONSHIP_MESSAGE)
    return relationship


def patient_age(patient: Patient, today: date) -> int:
    """Age in whole years on ``today`` (R11 needs it for children under 6)."""
    return age_on(patient.birth_date, today)


async def add_patient(
    session: AsyncSession,
    actor: Actor,
    *,
    name: str,
    relationship: str,
    id_number: str,
    mobile: str | None = None,
    cipher: FieldCipher,
    provider: RealNameProvider,
) -> Patient:
    """Add a 就诊人 to the actor's account and verify the real name at once (R03)."""
    name = _valid(validate_patient_name, name, field="name", code="identity.patient_name_invalid")
    _valid(
        validate_relationship,
        relationship,
        field="relationship",
        code="identity.relationship_unknown",
    )
    resident = _resident_id(id_number, today=actor.clock.today_local())
    if mobile is not None:
        _valid(validate_mobile, mobile, field="mobile", code="identity.mobile_invalid")
    await _lock_account(session, actor)
    active = await session.scalar(
        select(func.count())
        .select_from(Patient)
        .where(Patient.account_id == actor.account_id, Patient.is_active)
    )
    if (active or 0) >= MAX_ACTIVE_PATIENTS:
        raise Conflict(
            "identity.patient_limit",
            "An account can have at most {limit} patients. Remove one first.",
            limit=MAX_ACTIVE_PATIENTS,
        )
    if relationship == "self":
        await _ensure_no_other_self(session, actor, patient_id=None)
    index = cipher.blind_index(resident.number, purpose=ID_NUMBER_PURPOSE)
    taken = await session.scalar(
        select(Patient.id).where(Patient.id_number_index == index, Patient.is_active)
    )
    if taken is not None:
        raise _id_number_registered()
    patient = Patient(
        account_id=actor.account_id,
        name=name,
        relationship=relationship,
        id_number_cipher=cipher.encrypt(resident.number, purpose=ID_NUMBER_PURPOSE),
        id_number_index=index,
        id_number_masked=resident.masked,
        birth_date=resident.birth_date,
        sex=resident.sex,
        mobile=mobile,
        realname_status="unverified",
        realname_reason="",
        is_active=True,
        created_at=actor.clock.now(),
    )
    try:
        async with session.begin_nested():
            session.add(patient)
            await session.flush()
    except IntegrityError:
        # Another request registered the same number between the check and the insert.
        raise _id_number_registered() from None
    await _audit(session, actor, "patient.create", patient, relationship=relationship)
    await verify_realname(
        session, actor, patient=patient, id_number=resident.number, provider=provider
    )
    return patient


async def list_patients(
    session: AsyncSession, actor: Actor, *, include_inactive: bool = False
) -> list[Patient]:
    """The actor's own 就诊人, oldest first (the listing is audited)."""
    query = select(Patient).where(Patient.account_id == actor.account_id)
    if not include_inactive:
        query = query.where(Patient.is_active)
    patients = list((await session.scalars(query.order_by(Patient.id))).all())
    await record(
        session,
        actor,
        action="patient.list",
        subject_type="account",
        subject_id=actor.account_id,
        details={"patient_ids": [patient.id for patient in patients]},
    )
    return patients


async def get_patient(
    session: AsyncSession, actor: Actor, *, patient_id: int, for_update: bool = False
) -> Patient:
    """One of the actor's own 就诊人; anyone else's is reported as not found (audited).
    ``for_update`` locks the row (PostgreSQL) so that a domain checking rules per 就诊人 (one
    booking per doctor and day …) serialises concurrent requests for the same 就诊人."""
    patient = await _owned(session, actor.account_id, patient_id, for_update=for_update)
    await audit_patient_read(session, actor, patient)
    return patient


async def lock_patient_for_action(
    session: AsyncSession, actor: Actor, *, patient_id: int
) -> Patient:
    """One of the actor's own 就诊人, read and locked as :func:`get_patient` with ``for_update``
    does, for an action whose own audit entry names the 就诊人 and so records this read too (one
    entry per action, as a booking has). If the action ends without its entry but commits (a
    replayed request), the caller records the read with :func:`audit_patient_read`."""
    return await _owned(session, actor.account_id, patient_id, for_update=True)


async def audit_patient_read(session: AsyncSession, actor: Actor, patient: Patient) -> None:
    """Record that ``actor`` read the 就诊人's record (R13)."""
    await _audit(session, actor, "patient.read", patient)


async def get_patient_on_behalf(
    session: AsyncSession, actor: Actor, *, account_id: int, patient_id: int
) -> Patient:
    """One 就诊人 of ``account_id``, read and locked by the system acting for that account (a
    waitlist offer made when a place frees), as :func:`get_patient` with ``for_update`` does
    for the account itself (audited)."""
    patient = await _owned(session, account_id, patient_id, for_update=True)
    await _audit(session, actor, "patient.read", patient)
    return patient


async def account_of_patient(session: AsyncSession, *, patient_id: int) -> int | None:
    """The account managing an active 就诊人, for domains that bill or notify it (no data of the
    patient is read, so nothing is audited); None when there is no such 就诊人."""
    return await session.scalar(
        select(Patient.account_id).where(Patient.id == patient_id, Patient.is_active)
    )


async def birth_date_of(session: AsyncSession, *, patient_id: int) -> date:
    """The 就诊人's birth date, for a domain that has checked its relation to the 就诊人 and
    audits its own read (a prescription states the age, R17)."""
    birth_date = await session.scalar(select(Patient.birth_date).where(Patient.id == patient_id))
    if birth_date is None:
        raise _patient_not_found(patient_id)
    return birth_date


async def serialise_patient(session: AsyncSession, *, patient_id: int) -> None:
    """Lock the 就诊人's row (reading none of its data, so nothing is audited): decisions that
    count over the 就诊人's records, such as the booking rules and the no-show rule, are then
    taken one after the other. Take it before the locks of the records counted."""
    await session.execute(select(Patient.id).where(Patient.id == patient_id).with_for_update())


async def update_patient(
    session: AsyncSession,
    actor: Actor,
    *,
    patient_id: int,
    name: str | _Keep = KEEP,
    relationship: str | _Keep = KEEP,
    mobile: str | _Keep | None = KEEP,
    cipher: FieldCipher,
    provider: RealNameProvider,
) -> Patient:
    """Change name, relationship or mobile. The ID number cannot change (add a new 就诊人); a new
    name is verified again (R03)."""
    changes: dict[str, object] = {}
    if not isinstance(name, _Keep):
        changes["name"] = _valid(
            validate_patient_name, name, field="name", code="identity.patient_name_invalid"
        )
    if not isinstance(relationship, _Keep):
        changes["relationship"] = _valid(
            validate_relationship,
            relationship,
            field="relationship",
            code="identity.relationship_unknown",
        )
    if not isinstance(mobile, _Keep):
        changes["mobile"] = (
            None
            if mobile is None
            else _valid(validate_mobile, mobile, field="mobile", code="identity.mobile_invalid")
        )
    await _lock_account(session, actor)
    patient = await _owned(session, actor.account_id, patient_id)
    _ensure_active(patient)
    changes = {key: value for key, value in changes.items() if getattr(patient, key) != value}
    if not changes:
        return patient
    if changes.get("relationship") == "self":
        await _ensure_no_other_self(session, actor, patient_id=patient.id)
    for key, value in changes.items():
        setattr(patient, key, value)
    await session.flush()
    await _audit(session, actor, "patient.update", patient, changed=sorted(changes))
    if "name" in changes:
        id_number = cipher.decrypt(patient.id_number_cipher, purpose=ID_NUMBER_PURPOSE)
        await verify_realname(
            session, actor, patient=patient, id_number=id_number, provider=provider
        )
    return patient


async def deactivate_patient(session: AsyncSession, actor: Actor, *, patient_id: int) -> Patient:
    """Remove a 就诊人 from the account's list; the record and its history stay (R12)."""
    patient = await _owned(session, actor.account_id, patient_id)
    if patient.is_active:
        patient.is_active = False
        await session.flush()
        await _audit(session, actor, "patient.deactivate", patient)
    return patient


async def retry_realname_verification(
    session: AsyncSession,
    actor: Actor,
    *,
    patient_id: int,
    cipher: FieldCipher,
    provider: RealNameProvider,
) -> Patient:
    """Ask the real-name provider again, e.g. after it timed out (R03)."""
    patient = await _owned(session, actor.account_id, patient_id)
    _ensure_active(patient)
    if patient.realname_status == "verified":
        raise Conflict(
            "identity.realname_already_verified", "This patient's real name is already verified."
        )
    id_number = cipher.decrypt(patient.id_number_cipher, purpose=ID_NUMBER_PURPOSE)
    await verify_realname(session, actor, patient=patient, id_number=id_number, provider=provider)
    return patient


def _valid(check: Callable[[str], T], value: str, *, field: str, code: str) -> T:
    try:
        return check(value)
    except ValueError as error:
        raise Unprocessable(code, str(error), field=field) from None


def _resident_id(id_number: str, *, today: date) -> ResidentId:
    try:
        return parse_resident_id(id_number, today=today)
    except InvalidResidentId as error:
        raise Unprocessable(
            "identity.id_number_invalid", str(error), field="id_number", reason=error.reason
        ) from None


def _id_number_registered() -> Conflict:
    return Conflict(
        "identity.id_number_registered",
        "This ID number is already registered as a patient. Each person can be added only once.",
        field="id_number",
    )


async def _lock_account(session: AsyncSession, actor: Actor) -> None:
    """Serialise changes to one account's 就诊人 so the limits hold under concurrency."""
    await session.execute(
        select(Account.id).where(Account.id == actor.account_id).with_for_update()
    )


async def _owned(
    session: AsyncSession, account_id: int | None, patient_id: int, *, for_update: bool = False
) -> Patient:
    patient = None
    if account_id is not None:
        statement = select(Patient).where(
            Patient.id == patient_id, Patient.account_id == account_id
        )
        if for_update:
            statement = statement.with_for_update()
        patient = await session.scalar(statement)
    if patient is None:
        raise _patient_not_found(patient_id)
    return patient


def _patient_not_found(patient_id: int) -> NotFound:
    return NotFound(
        "identity.patient_not_found",
        "Patient {patient_id} was not found.",
        patient_id=patient_id,
    )


def _ensure_active(patient: Patient) -> None:
    if not patient.is_active:
        raise Conflict(
            "identity.patient_inactive",
            "This patient has been removed and can no longer be changed.",
        )


async def _ensure_no_other_self(
    session: AsyncSession, actor: Actor, *, patient_id: int | None
) -> None:
    query = select(Patient.id).where(
        Patient.account_id == actor.account_id,
        Patient.is_active,
        Patient.relationship == "self",
    )
    if patient_id is not None:
        query = query.where(Patient.id != patient_id)
    if await session.scalar(query) is not None:
        raise Conflict(
            "identity.self_exists",
            "This account already has a patient profile for yourself.",
            field="relationship",
        )


async def _audit(
    session: AsyncSession, actor: Actor, action: str, patient: Patient, **details: object
) -> None:
    await record(
        session,
        actor,
        action=action,
        subject_type="patient",
        subject_id=patient.id,
        patient_id=patient.id,
        details=details,
    )
