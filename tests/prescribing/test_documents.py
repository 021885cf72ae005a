"""The signed document of a prescription: it holds every item as written, its signature checks
with the doctor's public key, and any edit after signing breaks it."""

from sqlalchemy import select

from ihospital.core.clock import to_local
from ihospital.prescribing.documents import signed_content
from ihospital.prescribing.models import PrescriptionItem
from ihospital.security.signing import canonical_json, sha256_hex, signing_key, verify
from tests.consultation.builders import PRIOR, in_progress, make_practice
from tests.identity.builders import make_patient
from tests.prescribing.builders import Line, make_drug, make_prescription


async def _signed(session, clock):
    practice = await make_practice(session, clock=clock, fee_fen=0)
    patient = await make_patient(session, clock=clock)
    consultation = await in_progress(session, clock, practice, patient, prior=PRIOR)
    drug = await make_drug(session, clock=clock)
    prescription = await make_prescription(
        session,
        clock=clock,
        doctor=practice.doctor,
        consultation=consultation,
        lines=[Line(drug, dose="5.0")],
    )
    items = list(
        await session.scalars(
            select(PrescriptionItem).where(PrescriptionItem.prescription_id == prescription.id)
        )
    )
    return prescription, items


async def test_signature_checks_with_the_doctors_public_key(session, clock):
    prescription, items = await _signed(session, clock)
    document = signed_content(prescription, items)
    assert document["items"][0]["dose"] == "5"
    assert document["valid_until"] == to_local(prescription.issued_at).date().isoformat()
    message = canonical_json(document)
    assert sha256_hex(message) == prescription.content_sha256
    key = await signing_key(session, key_id=prescription.signing_key_id)
    assert verify(key.public_key, message=message, signature=prescription.signature)


async def test_an_edit_after_signing_breaks_the_signature(session, clock):
    prescription, items = await _signed(session, clock)
    items[0].days = 30
    message = canonical_json(signed_content(prescription, items))
    key = await signing_key(session, key_id=prescription.signing_key_id)
    assert sha256_hex(message) != prescription.content_sha256
    assert not verify(key.public_key, message=message, signature=prescription.signature)
