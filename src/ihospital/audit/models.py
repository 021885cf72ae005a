from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, event
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, mapped_column

from ihospital.db import Base, BigId, IdMixin


class AuditEntry(IdMixin, Base):
    """What happened: who did what to which subject, when and from where. Written in the
    transaction of the change it describes and never changed; the chain that makes an edit or a
    deletion visible is kept apart, in :class:`AuditSeal`."""

    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_subject", "subject_type", "subject_id"),)

    occurred_at: Mapped[datetime] = mapped_column(index=True)
    actor_account_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    actor_role: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(64), index=True)
    subject_type: Mapped[str] = mapped_column(String(64))
    subject_id: Mapped[str] = mapped_column(String(64))
    patient_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    ip: Mapped[str] = mapped_column(String(64), default="")
    request_id: Mapped[str] = mapped_column(String(64), default="")
    details: Mapped[str] = mapped_column(Text, default="{}")


class AuditSeal(Base):
    """One link of the audit chain: the entry at position ``seq`` (gap-free). ``entry_hash``
    covers the entry's content, ``seq`` and ``prev_hash``, so an edit, a deletion or a
    reordering breaks the chain at that link."""

    __tablename__ = "audit_seals"

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    entry_id: Mapped[int] = mapped_column(BigId, ForeignKey("audit_entries.id"), unique=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))


APPEND_ONLY = (AuditEntry, AuditSeal)


@event.listens_for(AuditEntry, "before_update")
@event.listens_for(AuditEntry, "before_delete")
@event.listens_for(AuditSeal, "before_update")
@event.listens_for(AuditSeal, "before_delete")
def _refuse_change(*_args: object) -> None:
    raise PermissionError("audit entries and seals are append-only")


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_change(state: ORMExecuteState) -> None:
    if (state.is_update or state.is_delete) and any(
        mapper.class_ in APPEND_ONLY for mapper in state.all_mappers
    ):
        raise PermissionError("audit entries and seals are append-only")
