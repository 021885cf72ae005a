"""Reading and verifying the audit trail (regulators, platform admins); both are recorded."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from ihospital.audit import service
from ihospital.audit.chain import seal_all, verify_chain
from ihospital.audit.schemas import AuditEntryRead, ChainReport
from ihospital.core.context import Actor
from ihospital.core.schemas import Page
from ihospital.deps import DbSession, require
from ihospital.security.permissions import Permission

router = APIRouter(prefix="/api/audit", tags=["audit"])
Reader = Annotated[Actor, Depends(require(Permission.AUDIT_READ))]
IdFilter = Annotated[int | None, Query(ge=1, le=2**63 - 1)]


@router.get("/entries", response_model=Page[AuditEntryRead])
async def list_entries(
    session: DbSession,
    actor: Reader,
    patient_id: IdFilter = None,
    actor_account_id: IdFilter = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[AuditEntryRead]:
    rows, total = await service.list_entries(
        session,
        actor,
        patient_id=patient_id,
        actor_account_id=actor_account_id,
        action=action,
        page=page,
        page_size=page_size,
    )
    return Page[AuditEntryRead](
        items=[AuditEntryRead.of(entry, seal) for entry, seal in rows],
        total=total,
        page=page,
        page_size=page_size,
    )


@router.get("/verify", response_model=ChainReport)
async def verify(session: DbSession, actor: Reader) -> ChainReport:
    """Seal what is pending, then walk the whole chain; the check is recorded like any other
    reading of the trail (R13)."""
    await seal_all(session, actor.clock)
    result = await verify_chain(session, actor.clock)
    await service.record(
        session,
        actor,
        action="audit.verify",
        subject_type="audit_log",
        subject_id="chain",
        details={"checked": result.checked, "ok": result.ok},
    )
    return ChainReport.model_validate(result)
