"""What the directory tests read back: audit entries of a subject, callers' headers by role."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.models import AuditEntry
from ihospital.core.clock import Clock
from ihospital.directory.models import Institution
from tests.directory.builders import bearer, make_staff


async def audit_trail(
    session: AsyncSession, subject_type: str, subject_id: int
) -> list[tuple[str, dict[str, Any]]]:
    """(action, details) of every audit entry about the subject, oldest first."""
    rows = (
        await session.execute(
            select(AuditEntry.action, AuditEntry.details)
            .where(
                AuditEntry.subject_type == subject_type, AuditEntry.subject_id == str(subject_id)
            )
            .order_by(AuditEntry.id)
        )
    ).all()
    return [(action, json.loads(details)) for action, details in rows]


async def headers_of(
    session: AsyncSession, *, clock: Clock, role: str, institution: Institution | None = None
) -> dict[str, str]:
    """Bearer headers of a new account of ``role`` (an admin of ``institution`` …)."""
    account = await make_staff(session, clock=clock, institution=institution, role=role)
    return await bearer(session, clock=clock, account=account)
