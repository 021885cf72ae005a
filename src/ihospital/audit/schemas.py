from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import field_validator

from ihospital.core.schemas import Schema


class AuditEntryRead(Schema):
    seq: int
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
    entry_hash: str

    @field_validator("details", mode="before")
    @classmethod
    def _stored_json(cls, value: object) -> object:
        """The entry keeps its details as the canonical JSON text that was hashed."""
        return json.loads(value) if isinstance(value, str) else value


class ChainReport(Schema):
    ok: bool
    checked: int
    first_bad_seq: int | None
    reason: str
