"""The doctor's consultation page lists its prescriptions with their status; a rejected one shows
the pharmacist's reasons and a "revise" link to the form filled from it, whose signature writes
the next version (R06, R20); one already revised or of another consultation is not found."""

from sqlalchemy import select

from ihospital.prescribing.models import Prescription, PrescriptionItem
from ihospital.prescribing.review import decide_prescription
from tests.consultation.builders import in_progress
from tests.directory.builders import doctor_account
from tests.identity.builders import csrf_token, make_patient
from tests.prescribing.review_builders import make_pharmacy, prescribe
from tests.web.builders import sign_in_as


async def _rejected(session, client, clock):
    pharmacy = await make_pharmacy(session, clock)
    prescription = await prescribe(session, clock, pharmacy)
    await decide_prescription(
        session,
        pharmacy.pharmacist_actor(clock),
        prescription_id=prescription.id,
        decision="reject",
        reasons=["N07"],
        note="请核对剂量",
    )
    account = await doctor_account(session, view=pharmacy.practice.doctor)
    await sign_in_as(session, client, account=account, clock=clock)
    return pharmacy, prescription


async def test_a_rejected_prescription_is_revised_from_the_consultation_page(
    client, session, clock
):
    pharmacy, rejected = await _rejected(session, client, clock)
    approved = await prescribe(session, clock, pharmacy, status="approved")
    consultation_id = pharmacy.consultation.id
    form = f"/doctor/consultations/{consultation_id}/prescription"

    page = await client.get(f"/doctor/consultations/{consultation_id}")
    revise = await client.get(form, params={"revise": rejected.id})
    token = await csrf_token(client)
    values = {
        "csrf_token": token,
        "revise": str(rejected.id),
        "diagnoses": "I10",
        "items-1-drug_id": str(pharmacy.drug.id),
        "items-1-dose": "5",
        "items-1-dose_unit": "mg",
        "items-1-frequency": "qd",
        "items-1-route": "oral",
        "items-1-days": "7",
        "action": "sign",
    }
    signed = await client.post(form, data=values)
    again = await client.get(form, params={"revise": rejected.id})

    assert page.status_code == 200 and 'id="consultation-prescriptions"' in page.text
    assert rejected.number in page.text and approved.number in page.text
    assert "已驳回" in page.text and "N07" in page.text and "请核对剂量" in page.text
    assert f'href="{form}?revise={rejected.id}"' in page.text
    assert f"?revise={approved.id}" not in page.text
    assert revise.status_code == 200
    assert f'name="revise" value="{rejected.id}"' in revise.text
    assert f'name="items-1-drug_id" value="{pharmacy.drug.id}"' in revise.text
    assert 'value="I10"' in revise.text
    assert signed.status_code == 303, signed.text
    revision = await session.scalar(
        select(Prescription).where(Prescription.previous_version_id == rejected.id)
    )
    assert (revision.version, revision.status) == (2, "pending_review")
    items = await session.scalars(
        select(PrescriptionItem.drug_id).where(PrescriptionItem.prescription_id == revision.id)
    )
    assert list(items) == [pharmacy.drug.id]
    assert again.status_code == 404
    listed = await client.get(f"/doctor/consultations/{consultation_id}")
    assert f"?revise={rejected.id}" not in listed.text


async def test_a_revision_names_a_rejected_prescription_of_the_same_consultation(
    client, session, clock
):
    pharmacy, rejected = await _rejected(session, client, clock)
    other = await in_progress(
        session, clock, pharmacy.practice, await make_patient(session, clock=clock), prior=None
    )
    pending = await prescribe(session, clock, pharmacy)
    form = f"/doctor/consultations/{pharmacy.consultation.id}/prescription"

    elsewhere = await client.get(
        f"/doctor/consultations/{other.id}/prescription", params={"revise": rejected.id}
    )
    waiting = await client.get(form, params={"revise": pending.id})
    bad = await client.get(form, params={"revise": "x"})

    assert elsewhere.status_code == 404
    assert waiting.status_code == 404
    assert bad.status_code == 422
