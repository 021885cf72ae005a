"""Coverage (FHIR Coverage): the basic medical insurance a 就诊人 holds.

A 就诊人 has at most one active coverage: 职工医保 (``employee``) or 城乡居民医保 (``resident``) of
one pool (a GB/T 2260 region code), with its insurance number, the personal account (个人账户)
balance (职工医保 only) and its period of validity. The type, the pool and the number cannot
change: end the coverage and add the new one, so the year's totals of the old pool stay with it.
Only the account that manages the 就诊人 sees or changes its coverage; anyone else is told the
就诊人 does not exist. Coverage is health and financial personal data: every read and every
change is audited, and the insurance number is encrypted at rest and shown masked.
"""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.billing.insurance.models import INSURANCE_TYPES, Coverage
from ihospital.core.context import Actor
from ihospital.directory.validation import region_code as valid_region_code
from ihospital.errors import Conflict, NotFound, Unprocessable
from ihospital.identity.models import Patient
from ihospital.identity.patients import KEEP, get_patient
from ihospital.security.crypto import FieldCipher

Keep = type(KEEP)  # the type of identity's "leave as it is" marker, for isinstance checks

INSURANCE_NUMBER_PURPOSE = "insurance.number"
MAX_BALANCE_FEN = 10**10  # ¥100,000,000.00, far above any personal account
_INSURANCE_NUMBER = re.compile(r"^[0-9A-Z]{6,32}$")


async def add_coverage(
    session: AsyncSession,
    actor: Actor,
    *,
    patient_id: int,
    insurance_type: str,
    region_code: str,
    insurance_number: str,
    account_balance_fen: int,
    valid_from: date,
    valid_to: date | None,
    cipher: FieldCipher,
) -> Coverage:
    """Record the coverage of one of the actor's 就诊人 (one active coverage each; an insurance
    number belongs to one person)."""
    if insurance_type not in INSURANCE_TYPES:
        raise Unprocessable(
            "insurance.type_unknown",
            "Choose 职工医保 (employee) or 城乡居民医保 (resident).",
            field="insurance_type",
        )
    try:
        valid_region_code(region_code)
    except ValueError as error:
        raise Unprocessable("insurance.region_invalid", str(error), field="region_code") from None
    number = insurance_number.strip().upper()
    if not _INSURANCE_NUMBER.match(number):
        raise Unprocessable(
            "insurance.number_invalid",
            "Enter the insurance number: 6 to 32 digits or capital letters.",
            field="insurance_number",
        )
    _check_terms(insurance_type, account_balance_fen, valid_from, valid_to)
    patient = await _active_patient(session, actor, patient_id)
    if await _active(session, patient.id) is not None:
        raise Conflict(
            "insurance.coverage_exists",
            "This patient already has a coverage. End it before adding another.",
        )
    now = actor.clock.now()
    coverage = Coverage(
        patient_id=patient.id,
        insurance_type=insurance_type,
        region_code=region_code,
        insurance_number_cipher=cipher.encrypt(number, purpose=INSURANCE_NUMBER_PURPOSE),
        insurance_number_index=cipher.blind_index(number, purpose=INSURANCE_NUMBER_PURPOSE),
        insurance_number_masked=number[:2] + "*" * (len(number) - 4) + number[-2:],
        account_balance_fen=account_balance_fen,
        valid_from=valid_from,
        valid_to=valid_to,
        is_active=True,
        created_at=now,
        updated_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(coverage)
            await session.flush()
    except IntegrityError:
        raise Conflict(
            "insurance.number_registered",
            "This insurance number already belongs to a patient's coverage.",
            field="insurance_number",
        ) from None
    await _audit(session, actor, "coverage.create", coverage, insurance_type=insurance_type)
    return coverage


async def update_coverage(
    session: AsyncSession,
    actor: Actor,
    *,
    patient_id: int,
    account_balance_fen: int | Keep = KEEP,
    valid_from: date | Keep = KEEP,
    valid_to: date | Keep | None = KEEP,
) -> Coverage:
    """Set the personal account balance or the period of validity of a 就诊人's coverage (an
    argument left at ``KEEP`` stays as it is; ``valid_to=None`` makes it open-ended)."""
    patient = await _active_patient(session, actor, patient_id)
    coverage = await active_coverage(session, patient_id=patient.id, for_update=True)
    if isinstance(account_balance_fen, Keep):
        account_balance_fen = coverage.account_balance_fen
    if isinstance(valid_from, Keep):
        valid_from = coverage.valid_from
    if isinstance(valid_to, Keep):
        valid_to = coverage.valid_to
    _check_terms(coverage.insurance_type, account_balance_fen, valid_from, valid_to)
    coverage.account_balance_fen = account_balance_fen
    coverage.valid_from = valid_from
    coverage.valid_to = valid_to
    coverage.updated_at = actor.clock.now()
    await session.flush()
    await _audit(session, actor, "coverage.update", coverage)
    return coverage


async def get_coverage(session: AsyncSession, actor: Actor, *, patient_id: int) -> Coverage:
    """The active coverage of one of the actor's 就诊人 (the read is audited)."""
    coverage = await find_coverage(session, actor, patient_id=patient_id)
    if coverage is None:
        raise _no_coverage()
    return coverage


async def find_coverage(session: AsyncSession, actor: Actor, *, patient_id: int) -> Coverage | None:
    """The active coverage of one of the actor's 就诊人, or None when it has none, for pages
    that show either (the read of a coverage is audited)."""
    await get_patient(session, actor, patient_id=patient_id)
    coverage = await _active(session, patient_id)
    if coverage is not None:
        await _audit(session, actor, "coverage.read", coverage)
    return coverage


async def end_coverage(session: AsyncSession, actor: Actor, *, patient_id: int) -> Coverage:
    """End a 就诊人's coverage (it stays on record with its settlements and year's totals)."""
    await get_patient(session, actor, patient_id=patient_id)
    coverage = await active_coverage(session, patient_id=patient_id, for_update=True)
    coverage.is_active = False
    coverage.updated_at = actor.clock.now()
    await session.flush()
    await _audit(session, actor, "coverage.end", coverage)
    return coverage


async def active_coverage(
    session: AsyncSession, *, patient_id: int, for_update: bool = False
) -> Coverage:
    """The active coverage of a 就诊人 the caller has already authorised (not audited here);
    ``for_update`` locks it, so settlements of one person are serialised."""
    coverage = await _active(session, patient_id, for_update=for_update)
    if coverage is None:
        raise _no_coverage()
    return coverage


def _no_coverage() -> NotFound:
    return NotFound(
        "insurance.coverage_not_found",
        "This patient has no medical insurance coverage on record.",
    )


async def _active(
    session: AsyncSession, patient_id: int, *, for_update: bool = False
) -> Coverage | None:
    query = select(Coverage).where(Coverage.patient_id == patient_id, Coverage.is_active)
    if for_update:
        query = query.with_for_update()
    return await session.scalar(query)


async def _active_patient(session: AsyncSession, actor: Actor, patient_id: int) -> Patient:
    patient = await get_patient(session, actor, patient_id=patient_id)
    if not patient.is_active:
        raise Conflict(
            "insurance.patient_inactive",
            "This patient has been removed; their coverage can no longer be changed.",
        )
    return patient


def _check_terms(
    insurance_type: str, account_balance_fen: int, valid_from: date, valid_to: date | None
) -> None:
    if (
        isinstance(account_balance_fen, bool)
        or not isinstance(account_balance_fen, int)
        or not 0 <= account_balance_fen <= MAX_BALANCE_FEN
    ):
        raise Unprocessable(
            "insurance.balance_invalid",
            "Enter the personal account balance as a whole number of fen, not negative.",
            field="account_balance",
        )
    if insurance_type != "employee" and account_balance_fen:
        raise Unprocessable(
            "insurance.account_employee_only",
            "Only 职工医保 (employee insurance) has a personal account.",
            field="account_balance",
        )
    if valid_to is not None and valid_to < valid_from:
        raise Unprocessable(
            "insurance.period_invalid",
            "The coverage cannot end before it starts.",
            field="valid_to",
        )


async def _audit(
    session: AsyncSession, actor: Actor, action: str, coverage: Coverage, **details: object
) -> None:
    await record(
        session,
        actor,
        action=action,
        subject_type="coverage",
        subject_id=coverage.id,
        patient_id=coverage.patient_id,
        details=details,
    )
