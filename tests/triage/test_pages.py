"""The symptom box at /triage: works without JavaScript by a form post, shows the emergency block
before any department, links to booking and online consultation, and 长辈模式's large buttons."""

from __future__ import annotations

from datetime import date

from ihospital.web.templating import ELDER_COOKIE
from tests.booking.builders import make_clinic, make_session
from tests.identity.builders import csrf_token, make_account
from tests.web.builders import sign_in_as


async def post(client, text: str, **fields: str):
    form = {"text": text, "csrf_token": await csrf_token(client), **fields}
    return await client.post("/triage", data=form)


async def test_the_symptom_box_is_a_plain_form_with_suggestions_as_an_extra(client):
    response = await client.get("/triage")
    assert response.status_code == 200
    page = response.text
    assert '<form method="post" action="/triage"' in page
    assert 'name="text"' in page and "/static/js/triage.js" in page
    assert 'data-suggest="/api/v1/triage/suggestions"' in page


async def test_the_answer_links_to_booking_and_online_consultation(client, session, clock):
    clinic = await make_clinic(session, clock=clock, department="03.04")
    await make_session(session, clinic, clock=clock, day=date(2026, 11, 28))
    response = await post(client, "心慌胸闷", age="50")
    assert response.status_code == 200
    page = response.text
    assert "心血管内科专业" in page and "/doctors?department=03.04" in page
    assert f'href="/doctors/{clinic.practitioner_id}/schedule"' in page
    assert f'href="/doctors/{clinic.practitioner_id}/consult"' in page
    assert "triage-emergency" not in page


async def test_the_emergency_block_comes_before_the_departments(client):
    page = (await post(client, "我爸突然嘴歪，说话不清", age="70")).text
    assert 'class="triage-emergency"' in page
    assert page.index("triage-emergency") < page.index("departments-title")
    assert 'href="tel:120"' in page


async def test_a_signed_in_patient_gets_the_answer_in_english(client, session, clock):
    account = await make_account(session, clock=clock, language="en")
    await sign_in_as(session, client, account=account, clock=clock)
    client.cookies.set("ih_lang", "en")
    page = (await post(client, "I want to kill myself")).text
    assert 'href="tel:12356"' in page and 'href="tel:010-82951332"' in page


async def test_bad_input_is_shown_next_to_the_field_and_nothing_else(client):
    response = await post(client, "😀😀", age="300")
    assert response.status_code == 422
    assert 'id="error-age"' in response.text
    response = await post(client, "😀😀")
    assert response.status_code == 422
    assert 'id="error-text"' in response.text
    assert "departments-title" not in response.text


async def test_elder_mode_leads_with_large_buttons_of_common_complaints(client):
    client.cookies.set(ELDER_COOKIE, "1")
    page = (await client.get("/triage")).text
    assert 'class="elder"' in page
    assert page.index("triage-complaints") < page.index("triage-form")
    assert 'name="text" value="头疼"' in page
    response = await post(client, "头疼")
    assert "神经内科专业" in response.text


async def test_a_post_without_the_csrf_token_is_refused(client):
    response = await client.post("/triage", data={"text": "头疼"})
    assert response.status_code == 403
