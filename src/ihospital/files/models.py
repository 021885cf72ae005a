"""Stored files (uploads) and the grants that let someone other than the owner read one."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ihospital.db import Base, BigId, IdMixin


class StoredFile(IdMixin, Base):
    """An uploaded JPEG, PNG, PDF or voice clip, its bytes kept in the object store under
    ``storage_key``.

    ``patient_id`` names the 就诊人 it concerns, if any (reads of such a file are audited).
    ``size_bytes`` and ``sha256`` describe the stored bytes (images are re-encoded without their
    metadata, so they differ from what was sent). ``duration_ms`` is how long a voice clip plays,
    read from its container (None for anything else). Files are kept (R12): there is no delete path.
    """

    __tablename__ = "stored_files"
    __table_args__ = (
        CheckConstraint(
            "content_type IN ('image/jpeg','image/png','application/pdf',"
            "'audio/webm','audio/ogg','audio/mp4')",
            name="content_type_known",
        ),
        CheckConstraint("size_bytes > 0", name="size_positive"),
        CheckConstraint(
            "(content_type IN ('audio/webm','audio/ogg','audio/mp4')) = (duration_ms IS NOT NULL) "
            "AND "
            "(duration_ms IS NULL OR duration_ms > 0)",
            name="duration_of_audio",
        ),
        Index("ix_stored_files_owner_created", "owner_account_id", "created_at"),
    )

    owner_account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id"))
    patient_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("patients.id"), index=True)
    content_type: Mapped[str] = mapped_column(String(32))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(64), unique=True)
    original_name: Mapped[str] = mapped_column(String(128))
    duration_ms: Mapped[int | None]
    created_at: Mapped[datetime]


class FileGrant(IdMixin, Base):
    """Read access to a file for one account other than its owner, given by another domain's
    service with its reason (``consultation:42``, say): one row per file, reader and reason, so
    every way someone came to read a file stays on record."""

    __tablename__ = "file_grants"
    __table_args__ = (UniqueConstraint("file_id", "account_id", "reason"),)

    file_id: Mapped[int] = mapped_column(BigId, ForeignKey("stored_files.id"))
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id"), index=True)
    reason: Mapped[str] = mapped_column(String(64))
    granted_at: Mapped[datetime]
