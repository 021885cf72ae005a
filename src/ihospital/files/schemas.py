"""API shapes of stored files."""

from __future__ import annotations

from datetime import datetime

from ihospital.core.schemas import Schema
from ihospital.files.models import StoredFile


class StoredFileRead(Schema):
    id: int
    patient_id: int | None
    content_type: str
    size_bytes: int
    sha256: str
    original_name: str
    created_at: datetime
    content_url: str
    duration_ms: int | None = None  # how long a voice clip plays

    @classmethod
    def from_file(cls, stored: StoredFile) -> StoredFileRead:
        return cls(
            id=stored.id,
            patient_id=stored.patient_id,
            content_type=stored.content_type,
            size_bytes=stored.size_bytes,
            sha256=stored.sha256,
            original_name=stored.original_name,
            created_at=stored.created_at,
            content_url=f"/api/files/{stored.id}/content",
            duration_ms=stored.duration_ms,
        )
