"""Operators' read-only view of the outbox."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from ihospital.core.context import Actor
from ihospital.deps import DbSession, require
from ihospital.outbox.health import outbox_health
from ihospital.outbox.schemas import OutboxHealthRead
from ihospital.security.permissions import Permission

router = APIRouter(prefix="/api/admin/outbox", tags=["operations"])


@router.get("", response_model=OutboxHealthRead)
async def get_outbox_health(
    session: DbSession, actor: Annotated[Actor, Depends(require(Permission.OUTBOX_READ))]
) -> OutboxHealthRead:
    """Events by status, the age of the oldest due event, and the latest dead events."""
    return OutboxHealthRead.model_validate(await outbox_health(session, actor))
