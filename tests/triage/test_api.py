"""POST /api/v1/triage and the suggestions over HTTP: anyone may ask, with a rate limit; red
flags first; doctors with free places or online consultation; bad input named in zh-CN and en;
nothing stored."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from ihospital.audit.models import AuditEntry
from ihospital.core.i18n import translate
from ihospital.errors import PROBLEM_JSON
from ihospital.triage.service import checked_text
from tests.booking.builders import make_clinic, make_session
from tests.conftest import make_settings
from tests.identity.builders import auth_headers, make_account

URL = "/api/v1/triage"
EN = {"Accept-Language": "en"}
NO_WORDS = "Describe the symptoms in words: the text has only emoji, digits or punctuation."


async def test_anyone_gets_ranked_departments_with_reasons(client):
    response = await client.post(URL, json={"text": "嗓子疼，咳嗽三天了，不发烧", "age": 30})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) >= {"departments", "red_flags", "advice", "doctors", "emergency"}
    first = body["departments"][0]
    assert (first["code"], first["name"]) == ("03.01", "呼吸内科专业")
    assert 0 < first["score"] <= 1
    assert any(reason.startswith("咳嗽") and "三天" in reason for reason in first["reasons"])
    assert body["red_flags"] == [] and body["emergency"] is False
    assert "呼吸内科专业" in body["advice"]
    denied = [s for s in body["symptoms"] if s["negated"]]
    assert [s["code"] for s in denied] == ["fever"]


async def test_a_signed_in_patient_may_ask_too(client, session, clock):
    account = await make_account(session, clock=clock)
    headers = await auth_headers(session, account=account, clock=clock)
    response = await client.post(URL, json={"text": "牙疼"}, headers=headers)
    assert response.status_code == 200
    assert response.json()["departments"][0]["code"] == "12"


async def test_a_red_flag_comes_first_with_the_emergency_instruction(client):
    response = await client.post(URL, json={"text": "胸口疼，一直出冷汗", "age": 60, "sex": "male"})
    body = response.json()
    assert body["emergency"] is True
    [flag] = body["red_flags"]
    assert flag["code"] == "cardiac_chest_pain" and flag["call"] == ["120"]
    assert body["advice"] == flag["instruction"] and "120" in body["advice"]
    assert body["departments"][0]["code"] == "20"
    assert body["departments"][0]["name"] == "急诊医学科"


async def test_self_harm_gets_the_crisis_hotlines_in_english(client):
    response = await client.post(URL, json={"text": "I want to kill myself"}, headers=EN)
    [flag] = response.json()["red_flags"]
    assert "12356" in flag["call"] and "010-82951332" in flag["call"]
    assert "12356" in flag["instruction"]
    assert response.json()["departments"][0]["name"] == "Psychiatry"


async def test_english_names_and_reasons_in_english(client):
    response = await client.post(URL, json={"text": "my stomach hurts"}, headers=EN)
    first = response.json()["departments"][0]
    assert first["name"] == "Gastroenterology"
    assert first["reasons"] == ["abdominal pain (“my stomach hurts”)"]


async def test_mixed_languages_are_no_error(client):
    response = await client.post(URL, json={"text": "我headache三天, no fever"})
    assert response.status_code == 200
    assert response.json()["departments"][0]["code"] == "03.03"


async def test_doctors_with_free_places_of_the_department_are_suggested(client, session, clock):
    clinic = await make_clinic(session, clock=clock, department="03.04")
    await make_session(session, clinic, clock=clock, day=date(2026, 11, 28))
    body = (await client.post(URL, json={"text": "心慌胸闷"})).json()
    [doctor] = [d for d in body["doctors"] if d["id"] == clinic.practitioner_id]
    assert doctor["department_code"] == "03.04"
    assert doctor["free_places"] > 0
    assert doctor["online_available"] is True


async def test_no_doctor_is_suggested_for_a_department_of_another_kind(client, session, clock):
    clinic = await make_clinic(session, clock=clock, department="03.04")
    await make_session(session, clinic, clock=clock, day=date(2026, 11, 28))
    body = (await client.post(URL, json={"text": "牙疼"})).json()
    assert clinic.practitioner_id not in [d["id"] for d in body["doctors"]]


@pytest.mark.parametrize("language", ["zh-CN", "en"])
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"text": ""}, "text"),
        ({"text": "   "}, "text"),
        ({"text": "头疼" * 5000}, "text"),
        ({"text": "头疼", "age": 200}, "age"),
        ({"text": "头疼", "age": -5}, "age"),
        ({"text": "头疼", "sex": "x"}, "sex"),
        ({"text": "头疼", "region_code": "abc"}, "region_code"),
        ({"age": 30}, "text"),
    ],
)
async def test_bad_input_is_refused_naming_the_field(client, session, body, field, language):
    before = await session.scalar(select(func.count()).select_from(AuditEntry))
    headers = EN if language == "en" else {}
    response = await client.post(URL, json=body, headers=headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    problem = response.json()
    assert problem["code"] == "request.invalid"
    assert problem["errors"][0]["field"] == field
    assert await session.scalar(select(func.count()).select_from(AuditEntry)) == before


@pytest.mark.parametrize("language", ["zh-CN", "en"])
@pytest.mark.parametrize("text", ["😀😀😀", "？？！！……", "!!! ...", "🤒 123"])
async def test_only_emoji_or_punctuation_is_refused_in_the_callers_language(client, text, language):
    response = await client.post(URL, json={"text": text}, headers=EN if language == "en" else {})
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "triage.text_without_words"
    assert problem["field"] == "text"
    assert problem["detail"] == translate(NO_WORDS, language)
    if language == "zh-CN":
        assert problem["detail"] != NO_WORDS


def test_a_text_with_a_word_passes_the_check():
    assert checked_text("头疼🤕") == "头疼🤕"


async def test_asking_stores_nothing(client, session):
    before = await session.scalar(select(func.count()).select_from(AuditEntry))
    assert (await client.post(URL, json={"text": "头疼"})).status_code == 200
    assert await session.scalar(select(func.count()).select_from(AuditEntry)) == before


@pytest.fixture
def settings(tmp_path):
    return make_settings(tmp_path, triage_rate_per_ip=2, triage_suggestion_rate_per_ip=2)


async def test_too_many_requests_from_one_address_are_refused(client):
    for _ in range(2):
        assert (await client.post(URL, json={"text": "头疼"})).status_code == 200
    response = await client.post(URL, json={"text": "头疼"}, headers=EN)
    assert response.status_code == 429
    assert response.json()["code"] == "triage.too_many_requests"
    assert response.json()["detail"].startswith("Too many triage requests")


async def test_suggestions_offer_lexicon_words_with_their_term(client):
    found = (await client.get(f"{URL}/suggestions", params={"q": "嗓子"})).json()
    assert {"text": "嗓子疼", "term": "咽痛", "symptom": "sore_throat"} in found
    english = (await client.get(f"{URL}/suggestions", params={"q": "sore"}, headers=EN)).json()
    assert english[0]["text"].startswith("sore")
    assert (await client.get(f"{URL}/suggestions", params={"q": ""})).status_code == 422
