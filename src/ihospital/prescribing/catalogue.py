"""The national drug catalogue (药品目录): search for prescribers and pharmacists, one drug, the
platform admin's CSV import (upsert by national code) and deactivating a drug.

Patients never browse the catalogue (no drugs before a prescription, R08): the routes require
``drugs:read``, which patients do not hold. Only a platform admin (or the ``ihospital drugs
import`` command) changes the catalogue, and every change is audited (R13). Whether a drug may be
prescribed online (R10, R18) is the prescribing rules' decision; the catalogue only carries the
flags they read.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.core.context import Actor
from ihospital.directory.validation import LONG_TEXT_MESSAGE, is_long_text
from ihospital.directory.views import PageResult, rows_page
from ihospital.errors import Forbidden, NotFound, Unprocessable
from ihospital.prescribing.catalogue_import import decode_csv, parse_drugs
from ihospital.prescribing.models import Drug
from ihospital.security.permissions import Role

MAX_PAGE_SIZE = 50
EDITORS = (Role.PLATFORM_ADMIN, "system")  # "system": the ``ihospital drugs import`` command
CHUNK = 500  # codes per IN (…) when an import looks up the drugs it already has
_HAN = re.compile(r"[\u4e00-\u9fff]")
_LATIN = re.compile(r"[A-Za-z0-9 .\-]+")
NOT_EDITOR_MESSAGE = "Only a platform administrator may change the national drug catalogue."


@dataclass(frozen=True)
class DrugFilters:
    """What a catalogue search narrows to; ``None`` leaves a flag open."""

    q: str = ""
    special_class: str | None = None
    insurance_class: str | None = None
    prescription_only: bool | None = None
    antimicrobial: bool | None = None
    cold_chain: bool | None = None
    include_inactive: bool = False


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    unchanged: int

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged


def drug_not_found(drug_id: int) -> NotFound:
    return NotFound("drugs.not_found", "Drug {drug_id} was not found.", drug_id=drug_id)


def _require_editor(actor: Actor) -> None:
    if actor.role not in EDITORS:
        raise Forbidden("drugs.not_editor", NOT_EDITOR_MESSAGE)


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _query_matches(q: str) -> ColumnElement[bool]:
    """``q`` is in the Chinese generic or brand name, or (Latin letters) in the English name,
    the ingredient, the full pinyin or its initials (``aldp`` for 氨氯地平), or starts the
    national code or the ATC code."""
    options = [Drug.generic_name_zh.contains(q, autoescape=True)]
    options.append(Drug.brand_name_zh.contains(q, autoescape=True))
    if not _HAN.search(q) and _LATIN.fullmatch(q):
        compact = q.replace(" ", "").lower()
        options += [
            Drug.generic_name_en.ilike(f"%{_escaped(q)}%", escape="\\"),
            Drug.ingredient.contains(q.lower(), autoescape=True),
            Drug.code.startswith(compact.upper(), autoescape=True),
            Drug.atc_code.startswith(compact.upper(), autoescape=True),
        ]
        if compact.isalpha():
            options.append(Drug.name_pinyin.contains(compact, autoescape=True))
            options.append(Drug.name_initials.contains(compact, autoescape=True))
    return or_(*options)


async def search_drugs(
    session: AsyncSession,
    actor: Actor,
    *,
    filters: DrugFilters,
    page: int = 1,
    page_size: int = 20,
) -> PageResult[Drug]:
    """A page of the catalogue for a prescriber or pharmacist, active drugs only unless asked,
    ordered by Chinese name then code. The catalogue is public reference data: no audit."""
    q = filters.q.strip()
    if not is_long_text(q):
        raise Unprocessable("drugs.query_invalid", LONG_TEXT_MESSAGE, field="q")
    conditions: list[ColumnElement[bool]] = []
    if q:
        conditions.append(_query_matches(q))
    if not filters.include_inactive:
        conditions.append(Drug.active.is_(True))
    for column, value in (
        (Drug.special_class, filters.special_class),
        (Drug.insurance_class, filters.insurance_class),
        (Drug.prescription_only, filters.prescription_only),
        (Drug.antimicrobial, filters.antimicrobial),
        (Drug.cold_chain, filters.cold_chain),
    ):
        if value is not None:
            conditions.append(column == value)
    page_size = min(page_size, MAX_PAGE_SIZE)
    rows, total = await rows_page(
        session,
        Drug,
        conditions=conditions,
        order_by=(Drug.generic_name_zh, Drug.code),
        page=page,
        page_size=page_size,
    )
    return PageResult(rows, total, page, page_size)


async def get_drug(session: AsyncSession, actor: Actor, *, drug_id: int) -> Drug:
    """One drug of the catalogue, active or not (a prescription may name a retired drug)."""
    drug = await session.get(Drug, drug_id)
    if drug is None:
        raise drug_not_found(drug_id)
    return drug


def _changes(drug: Drug, values: dict[str, Any]) -> dict[str, list[Any]]:
    """The columns ``values`` would change, as [old, new]."""
    return {
        name: [getattr(drug, name), value]
        for name, value in values.items()
        if getattr(drug, name) != value
    }


async def _existing(session: AsyncSession, codes: Sequence[str]) -> dict[str, Drug]:
    found: dict[str, Drug] = {}
    for start in range(0, len(codes), CHUNK):
        chunk = codes[start : start + CHUNK]
        found.update(
            (drug.code, drug)
            for drug in await session.scalars(select(Drug).where(Drug.code.in_(chunk)))
        )
    return found


async def import_drugs(session: AsyncSession, actor: Actor, *, data: bytes) -> ImportResult:
    """Upsert the drugs of a catalogue CSV by national code. The whole file is checked first:
    any bad row refuses it (every bad value listed by line and column) and nothing is written.
    A new drug is active; an existing one keeps its active flag. Each created or changed drug
    is audited with its changed columns, and the import with the file's SHA-256 (R13)."""
    _require_editor(actor)
    rows = parse_drugs(decode_csv(data))
    digest = hashlib.sha256(data).hexdigest()
    existing = await _existing(session, [row["code"] for row in rows])
    now = actor.clock.now()
    created = [
        Drug(**values, active=True, updated_at=now)
        for values in rows
        if values["code"] not in existing
    ]
    session.add_all(created)
    await session.flush()
    audited: list[tuple[Drug, str, dict[str, Any]]] = [
        (drug, "drug.created", {"code": drug.code}) for drug in created
    ]
    for values in rows:
        drug = existing.get(values["code"])
        if drug is not None and (changes := _changes(drug, values)):
            for name, (_, value) in changes.items():
                setattr(drug, name, value)
            drug.updated_at = now
            audited.append((drug, "drug.updated", {"code": drug.code, "changes": changes}))
    for drug, action, details in audited:
        await record(
            session,
            actor,
            action=action,
            subject_type="drug",
            subject_id=drug.id,
            details={**details, "file_sha256": digest},
        )
    created_count, updated = len(created), len(audited) - len(created)
    result = ImportResult(created_count, updated, len(rows) - created_count - updated)
    await record(
        session,
        actor,
        action="drugs.imported",
        subject_type="drug_catalogue",
        subject_id=digest[:16],
        details={"file_sha256": digest, "created": created_count, "updated": updated},
    )
    await session.flush()
    return result


async def set_drug_active(
    session: AsyncSession, actor: Actor, *, drug_id: int, active: bool
) -> Drug:
    """Withdraw a drug from the catalogue (no longer found by prescribers) or bring it back;
    audited when it changes (R13)."""
    _require_editor(actor)
    drug = await get_drug(session, actor, drug_id=drug_id)
    if drug.active != active:
        drug.active = active
        drug.updated_at = actor.clock.now()
        await record(
            session,
            actor,
            action="drug.reactivated" if active else "drug.deactivated",
            subject_type="drug",
            subject_id=drug.id,
            details={"code": drug.code},
        )
    return drug
