"""What a case reader gives back, and the registry of case kinds.

A reader turns the id of a case into its :class:`CaseSubject`: the institution and 就诊人 it
belongs to (for scoping), its facts, the events its domain records show, and the subjects under
which the audit trail, the supervision alerts and the reporting feed know it. Everything else
(scoping, the audit entries, the alerts, the feed, the chain check, the exports) is common.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

RECORD, AUDIT = "record", "audit"


@dataclass(frozen=True)
class CaseEvent:
    """One thing that happened to the case: ``action`` (a code such as
    ``prescription.reviewed`` or the audit entry's action), by whom, to which ``subject``
    (``prescription:12``), with its ``details``. ``source`` says whether a domain record or an
    audit entry (``audit_entry_id``) shows it."""

    at: datetime
    source: str
    action: str
    subject: str
    actor_account_id: int | None = None
    actor_role: str | None = None
    version: int | None = None
    details: dict[str, Any] = field(default_factory=dict)
    audit_entry_id: int | None = None


@dataclass
class CaseSubject:
    """A case as its reader found it. ``audit_subjects`` maps an audit ``subject_type`` to the
    ids whose entries belong to the case; ``alert_subjects`` are the subjects of supervision
    alerts (``prescription:12``); ``feed_subjects`` maps a reporting-feed kind to subject ids."""

    kind: str
    case_id: int
    reference: str
    institution_id: int
    patient_id: int
    facts: dict[str, Any]
    events: list[CaseEvent]
    audit_subjects: dict[str, set[int]]
    alert_subjects: set[str]
    feed_subjects: dict[str, set[int]]
    versions: list[dict[str, Any]] = field(default_factory=list)


Reader = Callable[[AsyncSession, int], Awaitable[CaseSubject | None]]
Finder = Callable[[AsyncSession, str], Awaitable[int | None]]


@dataclass(frozen=True)
class CaseKind:
    """A kind of case: its ``name`` (in URLs), its ``title`` (a message), the reader, and how a
    reference typed in the lookup form (a prescription number) finds its id."""

    name: str
    title: str
    read: Reader
    find: Finder | None = None


KINDS: dict[str, CaseKind] = {}


def register(kind: CaseKind) -> CaseKind:
    """Make a kind of case traceable (one call per kind, at import of its reader)."""
    KINDS[kind.name] = kind
    return kind
