"""Who may change what in the directory, and loading the rows a change applies to.

Routes have already checked the role's permission (``require``); these helpers check the relation
to the data: an institution admin changes only their own institution and its doctors; a platform
admin (and the system, for seeding and imports) may change any. A doctor of another institution
is reported as not found, so ids do not reveal unpublished doctors.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.core.context import Actor
from ihospital.directory.models import Institution, Practitioner
from ihospital.errors import Forbidden, NotFound
from ihospital.security.permissions import may_manage_institution

SYSTEM_ROLE = "system"


def may_manage(actor: Actor, institution_id: int) -> bool:
    return actor.role == SYSTEM_ROLE or may_manage_institution(
        actor.role, actor.institution_id, institution_id
    )


def institution_not_found() -> NotFound:
    return NotFound("directory.institution_not_found", "This institution does not exist.")


def practitioner_not_found() -> NotFound:
    return NotFound("directory.practitioner_not_found", "This doctor does not exist.")


async def get_institution_row(session: AsyncSession, institution_id: int) -> Institution:
    institution = await session.get(Institution, institution_id)
    if institution is None:
        raise institution_not_found()
    return institution


async def managed_institution(
    session: AsyncSession, actor: Actor, institution_id: int
) -> Institution:
    """The institution, if the actor may change it (404 when missing, 403 when not theirs)."""
    institution = await get_institution_row(session, institution_id)
    if not may_manage(actor, institution_id):
        raise Forbidden(
            "directory.not_your_institution", "You may only manage your own institution."
        )
    return institution


async def managed_practitioner(
    session: AsyncSession, actor: Actor, practitioner_id: int, *, for_update: bool = False
) -> Practitioner:
    """A doctor registered with an institution the actor manages (404 otherwise).
    ``for_update`` locks the row (PostgreSQL) so concurrent decisions are serialised."""
    statement = select(Practitioner).where(Practitioner.id == practitioner_id)
    if for_update:
        statement = statement.with_for_update()
    practitioner = await session.scalar(statement)
    if practitioner is None or not may_manage(actor, practitioner.institution_id):
        raise practitioner_not_found()
    return practitioner


async def own_practitioner(
    session: AsyncSession, actor: Actor, *, for_update: bool = False
) -> Practitioner:
    """The signed-in doctor's own practitioner record."""
    statement = select(Practitioner).where(Practitioner.account_id == actor.account_id)
    if for_update:
        statement = statement.with_for_update()
    practitioner = await session.scalar(statement) if actor.account_id else None
    if practitioner is None:
        raise no_practitioner_record()
    return practitioner


def no_practitioner_record() -> NotFound:
    return NotFound(
        "directory.no_practitioner_record", "There is no doctor record for this account."
    )


async def practitioners_by_account(
    session: AsyncSession, account_ids: Collection[int]
) -> dict[int, Practitioner]:
    """The practitioner records of doctors' accounts, by account id, in one query (what
    :func:`own_practitioner` finds for each, for work done for many doctors at once); an
    account without one is left out."""
    if not account_ids:
        return {}
    rows = await session.scalars(
        select(Practitioner).where(Practitioner.account_id.in_(set(account_ids)))
    )
    return {practitioner.account_id: practitioner for practitioner in rows}


async def practitioner_account_id(session: AsyncSession, practitioner_id: int) -> int:
    """The account a doctor signs in with (for other domains that let the doctor read
    something, such as a file a patient attached in a consultation)."""
    account_id = await session.scalar(
        select(Practitioner.account_id).where(Practitioner.id == practitioner_id)
    )
    if account_id is None:
        raise practitioner_not_found()
    return account_id


async def practitioners_by_id(session: AsyncSession, ids: Sequence[int]) -> dict[int, Practitioner]:
    """Practitioners by id in one query, for other domains that show who did something (the
    doctor who wrote a prescription); unknown ids are left out."""
    if not ids:
        return {}
    rows = await session.scalars(select(Practitioner).where(Practitioner.id.in_(set(ids))))
    return {practitioner.id: practitioner for practitioner in rows}
