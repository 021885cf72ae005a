from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import field_validator

from ihospital.audit.models import AuditEntry, AuditSeal
from ihospital.core.schemas import Schema


class AuditEntryRead(Schema):
    """An entry with its link in the chain; ``seq`` and ``entry_hash`` are null for the few
    seconds until the sealer has linked it."""

    id: int
    seq: int | None = None
    occurred_at: datetime
    actor_account_id: int | None
    actor_role: str
    action: str
    subject_type: str
    subject_id: str
    patient_id: int | None
    ip: str
    request_id: str
    details: dict[str, Any]
    entry_hash: str | None = None

    @field_validator("details", mode="before")
    @classmethod
    def _stored_json(cls, value: object) -> object:
        """The entry keeps its details as the canonical JSON text that was hashed."""
        return json.loads(value) if isinstance(value, str) else value

    @classmethod
    def of(cls, entry: AuditEntry, seal: AuditSeal | None) -> AuditEntryRead:
        read = cls.model_validate(entry)
        if seal is None:
            return read
        return read.model_copy(update={"seq": seal.seq, "entry_hash": seal.entry_hash})


class ChainReport(Schema):
    ok: bool
    checked: int
    first_bad_seq: int | None
    reason: str
    unsealed: int
    late: int
    oldest_unsealed_id: int | None
    oldest_unsealed_at: datetime | None
