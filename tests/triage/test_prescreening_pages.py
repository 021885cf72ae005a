"""The pre-screening pages: the patient's questionnaire and outcome, and the command centre's
board with its handling forms; plain forms, so all of it works without JavaScript."""

from __future__ import annotations

from sqlalchemy import select

from ihospital.triage.prescreening.models import EpidemicAlert
from ihospital.triage.prescreening.questionnaires import published
from tests.identity.builders import csrf_token
from tests.triage.prescreening_builders import (
    WUHAN_DISTRICT,
    make_commander_account,
    make_fever_clinics,
    make_screener,
    run_worker,
)
from tests.web.builders import sign_in_as

EN = {"Accept-Language": "en"}


async def _form(client, patient_id: int, **answers: str | list[str]) -> dict:
    form = {
        "csrf_token": await csrf_token(client),
        "patient_id": str(patient_id),
        "region_code": WUHAN_DISTRICT,
        "q-temperature": "36.5",
        "q-travel": "no",
        "q-contact": "no",
        "q-cluster": "no",
    }
    return {**form, **{f"q-{name}": value for name, value in answers.items()}}


async def test_a_patient_answers_and_is_sent_to_the_nearest_fever_clinic(
    app, client, session, session_factory, clock
):
    await make_fever_clinics(session, clock)
    me = await make_screener(session, clock, name="李四")
    await sign_in_as(session, client, account=me.account, clock=clock)
    page = await client.get("/prescreening")
    assert page.status_code == 200
    assert "您现在的体温（腋温）是多少？" in page.text and "李四" in page.text
    assert 'name="q-symptoms" value="cough"' in page.text

    form = await _form(client, me.patient.id, temperature="38.6", contact="yes", symptoms=["cough"])
    answered = await client.post("/prescreening", data=form)
    assert answered.status_code == 303
    outcome = await client.get(answered.headers["location"])
    assert "高风险" in outcome.text and "江岸发热门诊" in outcome.text
    assert outcome.text.index("江岸发热门诊") < outcome.text.index("武昌发热门诊")
    assert "咳嗽" in outcome.text and "38.6 °C" in outcome.text
    await run_worker(app, session_factory, clock)
    assert len((await session.scalars(select(EpidemicAlert))).all()) == 1


async def test_a_temperature_of_60_is_shown_next_to_its_question_and_nothing_is_kept(
    client, session, clock
):
    me = await make_screener(session, clock)
    await sign_in_as(session, client, account=me.account, clock=clock)
    form = await _form(client, me.patient.id, temperature="60")
    page = await client.post("/prescreening", data=form, headers=EN)
    assert page.status_code == 422
    assert "enter a value from 34 to 43 °C" in page.text
    assert 'value="60"' in page.text  # what was typed stays in the form
    missing = await _form(client, me.patient.id)
    del missing["q-contact"]
    page = await client.post("/prescreening", data=missing)
    assert page.status_code == 422 and "请回答是或否" not in page.text
    assert "请回答：" in page.text


async def test_the_board_lists_the_alert_and_closing_needs_a_note(
    app, client, session, session_factory, clock
):
    me = await make_screener(session, clock)
    await sign_in_as(session, client, account=me.account, clock=clock)
    form = await _form(client, me.patient.id, temperature="39", contact="yes")
    await client.post("/prescreening", data=form)
    await run_worker(app, session_factory, clock)
    client.cookies.clear()

    regulator = await make_commander_account(session, clock)
    await sign_in_as(session, client, account=regulator, clock=clock)
    board = await client.get("/command-centre")
    assert board.status_code == 200
    assert me.patient.name in board.text and me.account.mobile in board.text
    assert 'data-live-board="/ws/command-centre"' in board.text
    alert = await session.scalar(select(EpidemicAlert))
    token = await csrf_token(client)
    refused = await client.post(
        f"/command-centre/alerts/{alert.id}", data={"csrf_token": token, "status": "closed"}
    )
    assert refused.status_code == 303
    assert "关闭预警前请填写处置情况" in (await client.get("/command-centre")).text
    closed = await client.post(
        f"/command-centre/alerts/{alert.id}",
        data={"csrf_token": token, "status": "closed", "note": "已电话随访"},
    )
    assert closed.status_code == 303
    await session.refresh(alert)
    assert (alert.status, alert.note) == ("closed", "已电话随访")


async def test_the_questionnaire_version_is_shown(client, session, clock):
    me = await make_screener(session, clock)
    await sign_in_as(session, client, account=me.account, clock=clock)
    questionnaire = await published(session)
    page = await client.get("/prescreening", headers=EN)
    assert f"Version {questionnaire.version}." in page.text
    assert "What is your temperature now (armpit)?" in page.text
