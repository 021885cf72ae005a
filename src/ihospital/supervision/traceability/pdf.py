"""The case file as a PDF (A4), in the reader's language: the case, whether the audit chain
verifies (naming the first broken link), the timeline, every version, and the audit entries it
relies on with their links. Chinese is set in the font the printable prescription embeds."""

from __future__ import annotations

import json
from typing import Any

from fpdf import FPDF

from ihospital.core.clock import to_local
from ihospital.core.i18n import gettext
from ihospital.prescribing.printing import FAMILY, FONT
from ihospital.supervision.traceability.labels import CASE_SOURCE_MESSAGES, chain_reason
from ihospital.supervision.traceability.schemas import CaseFileRead

WIDTH = 190  # mm of text on an A4 page with 10 mm margins
CASE_FILE_MESSAGE = "Case file"
CASE_LINK_MESSAGES = {True: "intact", False: "changed", None: "not sealed yet"}


def _time(value: Any) -> str:
    return to_local(value).strftime("%Y-%m-%d %H:%M:%S")


def _compact(details: dict[str, Any]) -> str:
    return json.dumps(details, ensure_ascii=False, sort_keys=True, default=str)


class _CaseFile(FPDF):
    def __init__(self, title: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.set_margins(10, 10, 10)
        self.set_auto_page_break(auto=True, margin=12)
        self.add_font(FAMILY, fname=str(FONT))
        self.set_title(title)
        self.add_page()

    def line_of(self, text: str, *, size: float = 9, height: float = 5) -> None:
        self.set_font(FAMILY, size=size)
        self.multi_cell(WIDTH, height, text, new_x="LMARGIN", new_y="NEXT")

    def heading(self, text: str) -> None:
        self.ln(2)
        self.line_of(text, size=12, height=7)


def _chain(pdf: _CaseFile, case: CaseFileRead) -> None:
    chain = case.audit_chain
    pdf.heading(gettext("Audit chain"))
    if chain.verified:
        pdf.line_of(
            gettext("The audit chain verifies: {checked} links checked.", checked=chain.checked)
        )
    else:
        pdf.line_of(
            gettext(
                "The audit chain does NOT verify: link {seq}, entry {entry_id}: {reason}",
                seq=chain.first_bad_seq or "-",
                entry_id=chain.first_bad_entry_id or "-",
                reason=chain_reason(chain.reason),
            )
        )
    if chain.tampered_case_entries:
        entries = ", ".join(str(entry) for entry in chain.tampered_case_entries)
        pdf.line_of(
            gettext("Entries of this case that no longer match: {entries}", entries=entries)
        )


def _timeline(pdf: _CaseFile, case: CaseFileRead) -> None:
    pdf.heading(gettext("Timeline"))
    for event in case.events:
        who = event.actor_name or event.actor_role or gettext("System")
        version = f" v{event.version}" if event.version else ""
        entry = f" #{event.audit_entry_id}" if event.audit_entry_id else ""
        source = gettext(CASE_SOURCE_MESSAGES[event.source])
        pdf.line_of(f"{_time(event.at)}  {event.label}{version} · {who}", size=9)
        pdf.line_of(f"    {event.subject} · {source}{entry}", size=7, height=4)
        if event.details:
            pdf.line_of(f"    {_compact(event.details)}", size=7, height=4)


def _versions(pdf: _CaseFile, case: CaseFileRead) -> None:
    if not case.versions:
        return
    pdf.heading(gettext("Versions"))
    for version in case.versions:
        pdf.line_of(_compact(version), size=7, height=4)


def _audit(pdf: _CaseFile, case: CaseFileRead) -> None:
    pdf.heading(gettext("Audit entries this case relies on"))
    pdf.line_of(gettext("Entry · link · hash"), size=8)
    for link in case.audit_entries:
        mark = gettext(CASE_LINK_MESSAGES[link.intact])
        line = f"#{link.entry_id}  {link.seq or '-'}  {link.entry_hash or '-'}  {mark}"
        pdf.line_of(line, size=7, height=4)


def case_file_pdf(case: CaseFileRead) -> bytes:
    """The case file of ``case`` as PDF bytes."""
    title = f"{gettext(CASE_FILE_MESSAGE)} · {case.title} {case.reference}"
    pdf = _CaseFile(title)
    pdf.line_of(case.institution_name, size=14, height=8)
    pdf.line_of(title, size=16, height=9)
    pdf.line_of(
        gettext(
            "Patient: {patient} · Region: {region} · Generated at {time}",
            patient=case.facts.get("patient", "-"),
            region=case.region_code,
            time=_time(case.generated_at),
        )
    )
    _chain(pdf, case)
    _timeline(pdf, case)
    _versions(pdf, case)
    _audit(pdf, case)
    return bytes(pdf.output())
