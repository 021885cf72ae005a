"""The printable prescription (处方笺) as a PDF, in the layout of 《处方管理办法》's prescription
form: institution, the 处方 header with the number and date, the patient (name, sex, age),
department and visit type (门诊 or 线上复诊), the diagnoses, the Rp items with dose, frequency,
route, days and quantity, the doctor's electronic signature with the key's fingerprint (R06),
the pharmacist's review line, the validity (R16) and a QR code of the public verification page.

Chinese is set in Noto Sans SC (SIL Open Font License, in ``fonts/`` with its licence, cut down
to GB 2312 by ``scripts/subset-prescription-font``); each PDF embeds only the glyphs it uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from io import BytesIO
from pathlib import Path

import segno
from fpdf import FPDF
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.core.clock import to_local
from ihospital.core.context import Actor
from ihospital.core.i18n import current_language, gettext
from ihospital.directory.models import Practitioner
from ihospital.directory.views import practitioner_view
from ihospital.identity.models import Account
from ihospital.prescribing.models import Prescription, PrescriptionItem
from ihospital.prescribing.terms import coded_label, frequency_label, route_label, unit_label
from ihospital.prescribing.verification import (
    ENCOUNTER_MESSAGES,
    STATUS_MESSAGES,
    Verification,
    readable_prescription,
    verification_of,
    verification_url,
)

FONT = Path(__file__).resolve().parent / "fonts" / "NotoSansSC-Regular-subset.ttf"
FAMILY = "NotoSansSC"
WIDTH = 128  # mm of text on an A5 page with 10 mm margins
QR_SIZE = 28  # mm

SEX_MESSAGES = {"male": "Male", "female": "Female"}


@dataclass(frozen=True)
class PrintDetails:
    """What the PDF shows beyond the verified prescription: the doctor's department, who
    reviewed it, and the address of its verification page."""

    department: str
    pharmacist_name: str | None
    verify_url: str


def _dose(item: PrescriptionItem) -> str:
    return f"{format(Decimal(item.dose).normalize(), 'f')} {item.dose_unit}"


class _Form(FPDF):
    def __init__(self) -> None:
        super().__init__(orientation="P", unit="mm", format=(148, 210))
        self.set_margins(10, 10, 10)
        self.set_auto_page_break(auto=True, margin=12)
        self.add_font(FAMILY, fname=str(FONT))
        self.set_title(gettext("Prescription"))
        self.add_page()

    def text_line(self, text: str, *, size: float = 10, align: str = "L", height: float = 6):
        self.set_font(FAMILY, size=size)
        self.multi_cell(WIDTH, height, text, align=align, new_x="LMARGIN", new_y="NEXT")

    def rule(self) -> None:
        self.line(self.l_margin, self.get_y() + 1, self.l_margin + WIDTH, self.get_y() + 1)
        self.ln(3)


def _header(pdf: _Form, verification: Verification) -> None:
    prescription = verification.prescription
    pdf.text_line(verification.institution_name, size=14, align="C", height=8)
    pdf.text_line(gettext("Prescription"), size=16, align="C", height=9)
    kind = gettext("Emergency") if prescription.emergency else gettext("Ordinary")
    pdf.text_line(f"{kind} · {gettext(STATUS_MESSAGES[verification.status])}", align="R")
    issued = to_local(prescription.issued_at).strftime("%Y-%m-%d %H:%M")
    pdf.text_line(f"{gettext('No.')} {prescription.number}    {gettext('Issued')} {issued}")
    pdf.rule()


def _patient(pdf: _Form, verification: Verification, details: PrintDetails) -> None:
    prescription = verification.prescription
    pdf.text_line(
        gettext(
            "Name: {name}   Sex: {sex}   Age: {age}",
            name=prescription.patient_name,
            sex=coded_label(SEX_MESSAGES, prescription.patient_sex),
            age=prescription.patient_age,
        )
    )
    department = gettext("Department: {department}", department=details.department)
    encounter = gettext(ENCOUNTER_MESSAGES[verification.encounter])
    pdf.text_line(f"{department}   {gettext('Visit type: {kind}', kind=encounter)}")
    diagnoses = "；".join(f"{d['name']} ({d['code']})" for d in prescription.diagnoses)
    pdf.text_line(gettext("Diagnosis: {diagnoses}", diagnoses=diagnoses))
    pdf.rule()


def _items(pdf: _Form, items: list[PrescriptionItem]) -> None:
    pdf.text_line("Rp", size=14, height=8)
    for item in items:
        quantity = f"× {item.quantity} {unit_label(item.quantity_unit)}"
        pdf.text_line(f"{item.position}. {item.drug_name}    {quantity}", size=11)
        usage = gettext(
            "{dose}, {route}, {frequency}, for {days} days",
            dose=_dose(item),
            route=route_label(item.route),
            frequency=f"{frequency_label(item.frequency)} ({item.frequency})",
            days=item.days,
        )
        pdf.text_line(f"    {usage}", size=9)
        if item.note:
            pdf.text_line(f"    {item.note}", size=9)
    pdf.rule()


def _qr_png(url: str) -> BytesIO:
    image = BytesIO()
    segno.make(url, error="m", micro=False).save(image, kind="png", scale=4, border=2)
    image.seek(0)
    return image


def _signatures(pdf: _Form, verification: Verification, details: PrintDetails) -> None:
    prescription = verification.prescription
    top = pdf.get_y()
    pdf.image(_qr_png(details.verify_url), x=pdf.l_margin + WIDTH - QR_SIZE, y=top, w=QR_SIZE)
    pdf.set_right_margin(10 + QR_SIZE + 4)
    text_width = WIDTH - QR_SIZE - 4
    lines = [
        gettext("Doctor: {name} (electronic signature)", name=verification.doctor_name),
        gettext("Key fingerprint: {fingerprint}", fingerprint=verification.fingerprint or "-"),
        gettext("Reviewing pharmacist: {name}", name=details.pharmacist_name or "-"),
        gettext(
            "Valid until {day} ({days} days)",
            day=prescription.valid_until.isoformat(),
            days=prescription.validity_days,
        ),
        gettext("Scan to verify, or enter the code {code}", code=verification.code),
    ]
    if prescription.reviewed_at is not None:
        reviewed = to_local(prescription.reviewed_at).strftime("%Y-%m-%d %H:%M")
        lines.insert(3, gettext("Reviewed at {time}", time=reviewed))
    if prescription.validity_reason:
        lines.insert(-1, prescription.validity_reason)
    pdf.set_font(FAMILY, size=9)
    for line in lines:
        pdf.multi_cell(text_width, 5, line, new_x="LMARGIN", new_y="NEXT")
    pdf.set_y(max(pdf.get_y(), top + QR_SIZE) + 2)


def prescription_pdf(verification: Verification, details: PrintDetails) -> bytes:
    """The 处方笺 of a verified prescription, in the reader's language, as PDF bytes."""
    pdf = _Form()
    _header(pdf, verification)
    _patient(pdf, verification, details)
    _items(pdf, verification.items)
    _signatures(pdf, verification, details)
    return bytes(pdf.output())


@dataclass(frozen=True)
class PrintedPrescription:
    filename: str
    content: bytes


async def _department(session: AsyncSession, actor: Actor, prescription: Prescription) -> str:
    """The prescriber's department at the prescription's institution (its local name if the
    institution gave one), primary site first."""
    practitioner = await session.get(Practitioner, prescription.prescriber_id)
    view = await practitioner_view(session, actor, practitioner=practitioner)
    for site in view.sites:
        if site.institution.id == prescription.institution_id:
            english = current_language.get() == "en"
            return site.local_name or (
                site.department.name_en if english else site.department.name_zh
            )
    return "-"


async def _pharmacist_name(session: AsyncSession, prescription: Prescription) -> str | None:
    if prescription.reviewed_by_account_id is None:
        return None
    return await session.scalar(
        select(Account.display_name).where(Account.id == prescription.reviewed_by_account_id)
    )


async def print_prescription(
    session: AsyncSession, actor: Actor, *, prescription_id: int, base_url: str
) -> PrintedPrescription:
    """The 处方笺 PDF for the prescription's patient once a pharmacist approved it (R06), its
    doctor or a pharmacist of its institution; anyone else finds no such prescription. Each
    print is an audited read of the patient's health data (R13)."""
    prescription = await readable_prescription(session, actor, prescription_id=prescription_id)
    verification = await verification_of(session, actor, prescription=prescription)
    details = PrintDetails(
        department=await _department(session, actor, prescription),
        pharmacist_name=await _pharmacist_name(session, prescription),
        verify_url=verification_url(base_url, prescription),
    )
    content = prescription_pdf(verification, details)
    await record(
        session,
        actor,
        action="prescription.printed",
        subject_type="prescription",
        subject_id=prescription.id,
        patient_id=prescription.patient_id,
        details={"number": prescription.number, "valid": verification.check.valid},
    )
    return PrintedPrescription(f"{prescription.number}.pdf", content)
