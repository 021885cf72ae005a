"""The JSON shape of a case timeline; the JSON case file is the same document, downloaded."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ihospital.core.i18n import gettext
from ihospital.core.schemas import Schema
from ihospital.supervision.traceability.labels import event_label
from ihospital.supervision.traceability.service import CaseFile


class CaseEventRead(Schema):
    """One event: ``source`` ``record`` (a domain record dates it) or ``audit`` (the audit
    entry ``audit_entry_id``)."""

    at: datetime
    source: str
    action: str
    label: str
    subject: str
    version: int | None
    actor_account_id: int | None
    actor_role: str | None
    actor_name: str | None
    details: dict[str, Any]
    audit_entry_id: int | None


class CaseAuditLinkRead(Schema):
    """An audit entry the case relies on and its link in the chain (``seq``, ``entry_hash``,
    ``prev_hash``); ``intact`` is false when the link no longer matches the entry, null while
    the entry is not sealed yet."""

    entry_id: int
    occurred_at: datetime
    action: str
    seq: int | None
    entry_hash: str | None
    prev_hash: str | None
    intact: bool | None


class CaseChainRead(Schema):
    """The check of the whole audit chain (as ``ihospital audit verify``): verified or not, and
    the first broken link with the entry it holds."""

    verified: bool
    checked: int
    first_bad_seq: int | None
    first_bad_entry_id: int | None
    reason: str
    unsealed: int
    tampered_case_entries: list[int]


class CaseFileRead(Schema):
    """A case timeline: who did what when, every version, with the audit entries it relies on
    and whether the audit chain verifies."""

    kind: str
    case_id: int
    title: str
    reference: str
    institution_id: int
    institution_name: str
    region_code: str
    patient_id: int
    facts: dict[str, Any]
    versions: list[dict[str, Any]]
    events: list[CaseEventRead]
    audit_entries: list[CaseAuditLinkRead]
    audit_chain: CaseChainRead
    generated_at: datetime

    @classmethod
    def of(cls, case_file: CaseFile) -> CaseFileRead:
        subject = case_file.subject
        return cls(
            kind=subject.kind,
            case_id=subject.case_id,
            title=gettext(case_file.title),
            reference=subject.reference,
            institution_id=subject.institution_id,
            institution_name=case_file.institution_name,
            region_code=case_file.region_code,
            patient_id=subject.patient_id,
            facts=subject.facts,
            versions=subject.versions,
            events=[
                CaseEventRead(
                    at=event.at,
                    source=event.source,
                    action=event.action,
                    label=event_label(event),
                    subject=event.subject,
                    version=event.version,
                    actor_account_id=event.actor_account_id,
                    actor_role=event.actor_role,
                    actor_name=case_file.actors.get(event.actor_account_id or 0),
                    details=event.details,
                    audit_entry_id=event.audit_entry_id,
                )
                for event in case_file.events
            ],
            audit_entries=[CaseAuditLinkRead.model_validate(link) for link in case_file.audit],
            audit_chain=CaseChainRead(
                **vars(case_file.chain), tampered_case_entries=case_file.tampered_entries
            ),
            generated_at=case_file.generated_at,
        )
