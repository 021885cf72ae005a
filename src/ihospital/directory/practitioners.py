"""Practitioners (执业医师): creation by their institution with the doctor's account, corrections,
the doctor's own profile, and reading records (practice sites are in :mod:`.sites`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.core.context import Actor
from ihospital.directory import validation
from ihospital.directory.access import managed_institution, managed_practitioner, own_practitioner
from ihospital.directory.credentials import take_step
from ihospital.directory.models import SEXES, TITLES, Practitioner
from ihospital.directory.pinyin import name_pinyin
from ihospital.directory.sites import SiteInput, checked_sites, sites_detail, store_sites
from ihospital.directory.views import (
    PageResult,
    PractitionerView,
    practitioner_view,
    practitioner_views,
    rows_page,
)
from ihospital.errors import Conflict, Unprocessable
from ihospital.identity.accounts import create_account

EARLIEST_PRACTICE_START = date(1950, 1, 1)
PROFILE_FIELDS = ("specialties", "introduction", "photo_url")
CREDENTIAL_FIELDS = ("name", "sex", "licence_number", "title", "practice_start_date")
_CHECKS = {
    "name": validation.person_name,
    "licence_number": validation.licence_number,
    "specialties": validation.long_text,
    "introduction": validation.long_text,
    "photo_url": validation.photo_url,
}


def _check_values(values: Mapping[str, Any], today: date) -> None:
    validation.check_fields(values, _CHECKS)
    if "sex" in values and values["sex"] not in SEXES:
        raise Unprocessable("directory.sex_unknown", "Choose male or female.", field="sex")
    if "title" in values and values["title"] not in TITLES:
        raise Unprocessable(
            "directory.title_unknown", "Choose one of the professional titles.", field="title"
        )
    start = values.get("practice_start_date")
    if "practice_start_date" in values and not (
        isinstance(start, date) and EARLIEST_PRACTICE_START <= start <= today
    ):
        raise Unprocessable(
            "directory.practice_start_invalid",
            "The date of first independent practice must be a past date after 1950.",
            field="practice_start_date",
        )


async def _check_licence_free(
    session: AsyncSession, licence_number: str, practitioner_id: int | None = None
) -> None:
    taken = await session.scalar(
        select(Practitioner.id).where(
            Practitioner.licence_number == licence_number,
            Practitioner.id != (practitioner_id or 0),
        )
    )
    if taken is not None:
        raise _licence_taken(licence_number)


def _licence_taken(licence_number: str) -> Conflict:
    return Conflict(
        "directory.licence_taken",
        "A doctor with the practising certificate number {licence_number} is already registered.",
        licence_number=licence_number,
        field="licence_number",
    )


async def _flush_practitioner(session: AsyncSession, practitioner: Practitioner) -> None:
    """Flush; a licence number registered concurrently is a conflict, not a server error."""
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise _licence_taken(practitioner.licence_number) from None


async def create_practitioner(
    session: AsyncSession,
    actor: Actor,
    *,
    institution_id: int,
    name: str,
    sex: str,
    mobile: str,
    password: str,
    licence_number: str,
    title: str,
    practice_start_date: date,
    department_code: str,
    specialties: str = "",
    introduction: str = "",
    photo_url: str = "",
    practice_sites: Sequence[SiteInput] = (),
) -> PractitionerView:
    """Create a doctor's account (role doctor) and practitioner record together, as a draft
    awaiting credential review, with the primary site in ``department_code`` of the
    institution and any further practice sites (R05)."""
    institution = await managed_institution(session, actor, institution_id)
    values = {
        "name": name,
        "sex": sex,
        "licence_number": licence_number,
        "title": title,
        "practice_start_date": practice_start_date,
        "specialties": specialties,
        "introduction": introduction,
        "photo_url": photo_url,
    }
    _check_values(values, actor.clock.today_local())
    await _check_licence_free(session, licence_number)
    sites = await checked_sites(session, institution, department_code, practice_sites)
    account = await create_account(
        session,
        actor,
        mobile=mobile,
        password=password,
        role="doctor",
        display_name=name,
        institution_id=institution_id,
    )
    pinyin = name_pinyin(name)
    practitioner = Practitioner(
        **values,
        account_id=account.id,
        institution_id=institution_id,
        name_pinyin=pinyin.full,
        name_initials=pinyin.initials,
        verification_status="draft",
        verification_note="",
        created_at=actor.clock.now(),
    )
    session.add(practitioner)
    await _flush_practitioner(session, practitioner)
    await store_sites(session, practitioner.id, sites)
    await record(
        session,
        actor,
        action="practitioner.create",
        subject_type="practitioner",
        subject_id=practitioner.id,
        details={
            "account_id": account.id,
            "institution_id": institution_id,
            "licence_number": licence_number,
            "title": title,
            "sites": sites_detail(sites),
        },
    )
    return await practitioner_view(session, actor, practitioner=practitioner)


async def _apply(
    session: AsyncSession,
    actor: Actor,
    practitioner: Practitioner,
    changes: Mapping[str, Any],
    action: str,
) -> None:
    changed = {
        field: [getattr(practitioner, field), value]
        for field, value in changes.items()
        if getattr(practitioner, field) != value
    }
    if not changed:
        return
    for field, value in changes.items():
        setattr(practitioner, field, value)
    if "name" in changed:
        pinyin = name_pinyin(practitioner.name)
        practitioner.name_pinyin = pinyin.full
        practitioner.name_initials = pinyin.initials
    await _flush_practitioner(session, practitioner)
    await record(
        session,
        actor,
        action=action,
        subject_type="practitioner",
        subject_id=practitioner.id,
        details=changed,
    )


def _refuse_unknown(changes: Mapping[str, Any], allowed: Sequence[str]) -> None:
    unknown = sorted(set(changes) - set(allowed))
    if unknown:
        raise Unprocessable(
            "directory.field_not_editable",
            "The field {field} cannot be changed.",
            field=unknown[0],
        )


async def update_practitioner(
    session: AsyncSession, actor: Actor, *, practitioner_id: int, changes: Mapping[str, Any]
) -> PractitionerView:
    """The doctor's institution corrects their record. Changed credentials (name, sex, licence,
    title, practice start) of a verified doctor go back to review; they cannot change while a
    review is pending or the doctor is suspended (R05)."""
    _refuse_unknown(changes, (*PROFILE_FIELDS, *CREDENTIAL_FIELDS))
    practitioner = await managed_practitioner(session, actor, practitioner_id, for_update=True)
    _check_values(changes, actor.clock.today_local())
    credentials_changed = any(
        field in changes and changes[field] != getattr(practitioner, field)
        for field in CREDENTIAL_FIELDS
    )
    status = practitioner.verification_status
    if credentials_changed and status in ("pending", "suspended"):
        raise Conflict(
            "directory.credentials_locked",
            "Credentials cannot change while a review is pending or the doctor is suspended.",
            verification_status=status,
        )
    if "licence_number" in changes:
        await _check_licence_free(session, changes["licence_number"], practitioner.id)
    await _apply(session, actor, practitioner, changes, "practitioner.update")
    if credentials_changed and status == "verified":
        await take_step(session, actor, practitioner=practitioner, decision="revise", note="")
    return await practitioner_view(session, actor, practitioner=practitioner)


async def update_own_profile(
    session: AsyncSession, actor: Actor, *, changes: Mapping[str, Any]
) -> PractitionerView:
    """A doctor edits their own introduction, specialties and photo; credentials and status
    are the institution's to change."""
    _refuse_unknown(changes, PROFILE_FIELDS)
    practitioner = await own_practitioner(session, actor, for_update=True)
    _check_values(changes, actor.clock.today_local())
    await _apply(session, actor, practitioner, changes, "practitioner.profile_update")
    return await practitioner_view(session, actor, practitioner=practitioner)


async def get_practitioner(
    session: AsyncSession, actor: Actor, *, practitioner_id: int
) -> PractitionerView:
    """A doctor of an institution the actor manages, whatever their review status."""
    practitioner = await managed_practitioner(session, actor, practitioner_id)
    return await practitioner_view(session, actor, practitioner=practitioner)


async def get_own_practitioner(session: AsyncSession, actor: Actor) -> PractitionerView:
    """The signed-in doctor's own record (also for other domains: the doctor behind an
    account)."""
    practitioner = await own_practitioner(session, actor)
    return await practitioner_view(session, actor, practitioner=practitioner)


async def list_practitioners(
    session: AsyncSession,
    actor: Actor,
    *,
    institution_id: int,
    status: str | None = None,
    page: int = 1,
    page_size: int = 20,
) -> PageResult[PractitionerView]:
    """The doctors registered with an institution the actor manages, any review status."""
    await managed_institution(session, actor, institution_id)
    conditions = [Practitioner.institution_id == institution_id]
    if status:
        conditions.append(Practitioner.verification_status == status)
    rows, total = await rows_page(
        session,
        Practitioner,
        conditions=conditions,
        order_by=(Practitioner.name_pinyin, Practitioner.id),
        page=page,
        page_size=page_size,
    )
    views = await practitioner_views(session, actor, practitioners=rows)
    return PageResult(views, total, page, page_size)
