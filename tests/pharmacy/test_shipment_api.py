"""The JSON routes of pharmacy deliveries through the real app: carriers' callbacks, a
shipment with its tracking, the pharmacist's excursion decision."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from ihospital.audit.models import AuditEntry
from ihospital.core.validation_messages import CHOOSE_YES_NO, NOT_ALLOWED, REQUIRED
from ihospital.errors import PROBLEM_JSON
from ihospital.outbox.models import OutboxEvent
from ihospital.pharmacy.shipment_models import (
    Shipment,
    TemperatureReadingRecord,
    TrackingEventRecord,
)
from tests.directory.builders import bearer, make_institution
from tests.identity.builders import make_account
from tests.pharmacy.builders import callbacks_of, sandbox_of, ship
from tests.security.test_bad_input import LANGUAGES, assert_refused, headers_in

EN = {"Accept-Language": "en"}
COUNTED = (Shipment, TrackingEventRecord, TemperatureReadingRecord, AuditEntry, OutboxEvent)


def _problem(response, status: int, code: str) -> dict:  # noqa: ANN001
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body = response.json()
    assert body["code"] == code
    return body


async def _counts(session) -> dict[str, int]:  # noqa: ANN001
    return {
        model.__tablename__: await session.scalar(select(func.count()).select_from(model))
        for model in COUNTED
    }


@pytest.fixture
async def shipped(app, session, clock, institution):  # noqa: ANN001, ANN201
    """A cold-chain shipment whose readings go to 12 °C half-way, with its callbacks."""
    shipment = await ship(
        session,
        app.state.carriers,
        clock=clock,
        institution_id=institution.id,
        cold_chain=True,
        excursion_celsius=Decimal("12.0"),
    )
    await session.flush()
    return shipment


async def _deliver_all(app, client, session, clock) -> list[str]:  # noqa: ANN001
    """Post every scheduled callback, signed, in the order they are due."""
    sandbox = sandbox_of(app.state.carriers, cold_chain=True)
    outcomes = []
    for callback in await callbacks_of(session):
        body = json.loads(callback.payload)["body"]
        response = await client.post(
            f"/api/pharmacy/carriers/{sandbox.name}/callbacks",
            content=body,
            headers=sandbox.sign(body, now=clock.now()),
        )
        assert response.status_code == 200, response.text
        outcomes.append(response.json()["outcome"])
    return outcomes


async def test_signed_callbacks_are_applied_once_and_the_pharmacist_sees_the_tracking(
    app, client, session, clock, shipped, pharmacist_account
):
    outcomes = await _deliver_all(app, client, session, clock)
    assert outcomes and set(outcomes) == {"applied"}
    assert set(await _deliver_all(app, client, session, clock)) == {"duplicate"}
    headers = await bearer(session, clock=clock, account=pharmacist_account)
    response = await client.get(f"/api/pharmacy/shipments/{shipped.id}", headers=headers)
    assert response.status_code == 200, response.text
    detail = response.json()
    assert (detail["status"], detail["carrier_status"]) == ("temperature_excursion", "delivered")
    assert [event["status"] for event in detail["events"]] == [
        "accepted",
        "in_transit",
        "out_for_delivery",
        "delivered",
    ]
    assert [r["celsius"] for r in detail["readings"] if not r["within_range"]] == ["12.0"]
    read = select(func.count()).where(AuditEntry.action == "pharmacy.shipment.read")
    assert await session.scalar(read) == 1

    decided = await client.post(
        f"/api/pharmacy/shipments/{shipped.id}/excursion-decision",
        json={"accept": True, "note": "短时偏离, 药品可用"},
        headers=headers,
    )
    assert decided.status_code == 200, decided.text
    assert (decided.json()["status"], decided.json()["excursion"]) == ("delivered", "accepted")
    again = await client.post(
        f"/api/pharmacy/shipments/{shipped.id}/excursion-decision",
        json={"accept": False, "note": "改主意"},
        headers={**headers, **EN},
    )
    body = _problem(again, 409, "pharmacy.no_excursion_pending")
    assert "no temperature excursion" in body["detail"]


async def test_forged_stale_and_unknown_callbacks_are_refused_and_change_nothing(
    app, client, session, clock, shipped
):
    sandbox = sandbox_of(app.state.carriers, cold_chain=True)
    body = json.loads((await callbacks_of(session))[0].payload)["body"]
    before = await _counts(session)
    path = f"/api/pharmacy/carriers/{sandbox.name}/callbacks"
    forged = await client.post(
        path,
        content=body.replace("accepted", "delivered"),
        headers={**sandbox.sign(body, now=clock.now()), **EN},
    )
    assert (
        "signature is not valid"
        in _problem(forged, 400, "pharmacy.callback_bad_signature")["detail"]
    )
    unsigned = await client.post(path, content=body)
    assert "未签名" in _problem(unsigned, 400, "pharmacy.callback_unsigned")["detail"]
    stale = await client.post(
        path, content=body, headers=sandbox.sign(body, now=clock.now() - timedelta(minutes=6))
    )
    _problem(stale, 400, "pharmacy.callback_stale")
    at = clock.now().isoformat()
    for junk in (
        "[]",
        '{"shipment":"X","items":[{"event":"E1","status":"delivered","at":"yesterday"}]}',
        json.dumps({"shipment": "X", "items": [{"event": "E1", "status": "lost", "at": at}]}),
        json.dumps({"shipment": "X", "items": [{"reading": "R", "celsius": "NaN", "at": at}]}),
        json.dumps({"shipment": "X", "items": []}),
    ):
        malformed = await client.post(
            path, content=junk, headers=sandbox.sign(junk, now=clock.now())
        )
        _problem(malformed, 400, "pharmacy.callback_malformed")
    other = json.dumps({"shipment": "SCNOSUCH", "items": json.loads(body)["items"]})
    unknown = await client.post(path, content=other, headers=sandbox.sign(other, now=clock.now()))
    _problem(unknown, 400, "pharmacy.callback_unknown_shipment")
    no_carrier = await client.post("/api/pharmacy/carriers/fedex/callbacks", content=body)
    _problem(no_carrier, 404, "pharmacy.carrier_unknown")
    assert await _counts(session) == before


async def test_a_pharmacist_of_another_institution_or_a_patient_cannot_see_the_shipment(
    client, session, clock, shipped
):
    other = await make_institution(session, clock=clock)
    outsider = await make_account(session, role="pharmacist", institution_id=other.id, clock=clock)
    headers = await bearer(session, clock=clock, account=outsider)
    hidden = await client.get(f"/api/pharmacy/shipments/{shipped.id}", headers=headers)
    _problem(hidden, 404, "pharmacy.shipment_not_found")
    decided = await client.post(
        f"/api/pharmacy/shipments/{shipped.id}/excursion-decision",
        json={"accept": True, "note": "可用"},
        headers=headers,
    )
    _problem(decided, 404, "pharmacy.shipment_not_found")
    patient = await make_account(session, clock=clock)
    refused = await client.get(
        f"/api/pharmacy/shipments/{shipped.id}",
        headers=await bearer(session, clock=clock, account=patient),
    )
    _problem(refused, 403, "auth.forbidden")


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"accept": True}, "note", REQUIRED),
        ({"accept": True, "note": ""}, "note", "Fill in this field."),
        ({"accept": "perhaps", "note": "可用"}, "accept", CHOOSE_YES_NO),
        ({"accept": True, "note": "可用", "status": "delivered"}, "status", NOT_ALLOWED),
    ],
)
@pytest.mark.parametrize("language", LANGUAGES)
async def test_a_bad_decision_is_refused_naming_the_field_and_changes_nothing(
    client, session, clock, shipped, pharmacist_account, body, field, message, language
):
    headers = headers_in(language, await bearer(session, clock=clock, account=pharmacist_account))
    before = await _counts(session)
    response = await client.post(
        f"/api/pharmacy/shipments/{shipped.id}/excursion-decision", json=body, headers=headers
    )
    assert_refused(
        response, 422, "request.invalid", field=field, message=message, language=language
    )
    assert await _counts(session) == before


async def test_a_note_over_500_characters_is_refused_naming_it(
    client, session, clock, shipped, pharmacist_account
):
    headers = await bearer(session, clock=clock, account=pharmacist_account)
    response = await client.post(
        f"/api/pharmacy/shipments/{shipped.id}/excursion-decision",
        json={"accept": True, "note": "长" * 501},
        headers={**headers, **EN},
    )
    body = _problem(response, 422, "request.invalid")
    assert body["errors"][0]["field"] == "note"
    assert body["errors"][0]["message"] == "Enter at most 500 characters."
