"""The doctor's price-list page: shows the fees in yuan and sets one; refusals show next to
their field and change nothing."""

from sqlalchemy import select

from ihospital.consultation.models import ConsultationPrice
from tests.consultation.builders import make_practice
from tests.directory.builders import doctor_account, make_institution
from tests.identity.builders import csrf_token
from tests.web.builders import sign_in_as


async def _fees(session, practitioner_id):
    rows = await session.scalars(
        select(ConsultationPrice)
        .where(ConsultationPrice.practitioner_id == practitioner_id)
        .execution_options(populate_existing=True)
    )
    return {row.consultation_type: row.fee_fen for row in rows}


async def test_a_doctor_sets_a_fee_in_yuan_on_the_page(client, session, clock):
    practice = await make_practice(session, clock=clock)
    account = await doctor_account(session, view=practice.doctor)
    await sign_in_as(session, client, account=account, clock=clock)
    page = await client.get("/doctor/consultation-prices")
    assert page.status_code == 200
    assert "问诊价格" in page.text and "¥30.00" in page.text
    form = {
        "csrf_token": await csrf_token(client),
        "institution_id": str(practice.institution.id),
        "consultation_type": "video",
        "fee": "88.50",
    }
    saved = await client.post("/doctor/consultation-prices", data=form)
    assert (saved.status_code, saved.headers["location"]) == (303, "/doctor/consultation-prices")
    assert (await _fees(session, practice.doctor.id))["video"] == 8850


async def test_bad_fees_and_places_are_shown_next_to_their_field(client, session, clock):
    practice = await make_practice(session, clock=clock)
    elsewhere = await make_institution(session, clock=clock)
    account = await doctor_account(session, view=practice.doctor)
    await sign_in_as(session, client, account=account, clock=clock)
    form = {
        "csrf_token": await csrf_token(client),
        "institution_id": str(practice.institution.id),
        "consultation_type": "text",
    }
    for fee in ("-1", "abc", "1.234"):
        refused = await client.post("/doctor/consultation-prices", data={**form, "fee": fee})
        assert refused.status_code == 422 and 'id="error-fee"' in refused.text, fee
    odd = await client.post(
        "/doctor/consultation-prices", data={**form, "institution_id": "١", "fee": "1"}
    )
    assert odd.status_code == 422 and 'id="error-institution_id"' in odd.text
    # an institution the doctor does not practise at: refused by R05, shown as a notice
    outside = await client.post(
        "/doctor/consultation-prices",
        data={**form, "institution_id": str(elsewhere.id), "fee": "1"},
    )
    assert outside.status_code == 422 and "该医生未在此医疗机构注册执业。" in outside.text
    assert await _fees(session, practice.doctor.id) == {"text": 3000, "voice": 3000, "video": 3000}
