"""The pharmacist's pages without JavaScript: the queue with each wait, the detail with the
reasons as checkboxes, a rejection without a reason shown next to the field (nothing changed),
a rejection with reasons sent back to the queue; the review times for the pharmacist and the
institution's admin."""

from datetime import timedelta
from html import escape as html_escape

from ihospital.prescribing.models import Prescription
from ihospital.prescribing.verification import verification_path
from tests.identity.builders import csrf_token
from tests.prescribing.review_builders import make_pharmacy, prescribe
from tests.web.builders import sign_in_as


async def test_the_pharmacist_rejects_from_the_pages(client, session, clock):
    pharmacy = await make_pharmacy(session, clock)
    prescription = await prescribe(session, clock, pharmacy)
    clock.advance(timedelta(minutes=35))
    await sign_in_as(session, client, account=pharmacy.pharmacist, clock=clock)
    url = f"/pharmacist/prescriptions/{prescription.id}"

    queue = await client.get("/pharmacist/prescriptions")
    detail = await client.get(url)
    token = await csrf_token(client)
    empty = await client.post(
        f"{url}/decision", data={"csrf_token": token, "decision": "reject", "note": "剂量"}
    )
    unchanged = (await session.get(Prescription, prescription.id)).status
    rejected = await client.post(
        f"{url}/decision",
        data={"csrf_token": token, "decision": "reject", "reasons": ["N07", "I05"]},
    )

    assert f'href="{url}"' in queue.text and "已超时" in queue.text
    assert 'type="checkbox" name="reasons" value="E04"' in detail.text
    assert "签名验证通过" in detail.text
    assert f'href="/api/prescriptions/{prescription.id}/pdf"' in detail.text
    assert html_escape(verification_path(prescription)) in detail.text
    assert empty.status_code == 422
    assert "驳回处方时请至少从列表中选择一项理由。" in empty.text
    assert ">剂量</textarea>" in empty.text
    assert unchanged == "pending_review"
    assert (rejected.status_code, rejected.headers["location"]) == (
        303,
        "/pharmacist/prescriptions",
    )
    await session.refresh(prescription)
    assert prescription.rejection_codes == ["N07", "I05"]


async def test_review_times_pages(client, session, clock):
    pharmacy = await make_pharmacy(session, clock)
    await sign_in_as(session, client, account=pharmacy.pharmacist, clock=clock)
    own = await client.get("/pharmacist/review-statistics?days=7")
    await sign_in_as(session, client, account=pharmacy.practice.admin, clock=clock)
    admin = await client.get("/admin/prescription-review")

    for page in (own, admin):
        assert page.status_code == 200
        assert 'id="review-figures"' in page.text
    assert 'href="/admin/prescription-review?days=90"' in admin.text
