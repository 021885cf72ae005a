"""The verification API: public by number and code (masked, rate limited, audited even when
refused), the full check for the prescription's readers, bad input as problem+json."""

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select

from ihospital.app import create_app
from ihospital.audit.models import AuditEntry
from ihospital.errors import PROBLEM_JSON
from ihospital.prescribing.verification import verification_code
from tests.conftest import make_settings
from tests.directory.builders import bearer
from tests.identity.builders import make_account
from tests.prescribing.verification_world import edit_an_item, forge_signature, written

PUBLIC = "/api/prescription-verification"
EN = {"Accept-Language": "en"}


def query(prescription, code=None) -> dict[str, str]:
    return {"number": prescription.number, "code": code or verification_code(prescription)}


async def test_anyone_checks_a_paper_prescription_and_sees_only_masked_data(client, session, clock):
    world = await written(session, clock)
    response = await client.get(PUBLIC, params=query(world.prescription))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["valid"] is True and body["reason"] is None
    assert body["status"] == "approved" and body["status_text"] == "已通过"
    assert body["patient_name"] == "欧**明"
    assert body["institution_name"] == world.practice.institution.name
    assert body["items"][1] == {
        "drug_name": "盐酸二甲双胍缓释片",
        "quantity": 2,
        "quantity_unit": "box",
    }
    text = response.text
    assert "原发性高血压" not in text and "I10" not in text  # no diagnoses
    assert "欧阳小明" not in text and "patient_id" not in text and "public_key" not in text


async def test_a_tampered_prescription_fails_naming_why(client, session, clock):
    world = await written(session, clock)
    await edit_an_item(session, world.prescription)
    body = (await client.get(PUBLIC, params=query(world.prescription), headers=EN)).json()
    assert body["valid"] is False and body["reason"] == "content_changed"
    assert body["reason_text"] == "The prescription was changed after the doctor signed it."


async def test_a_forged_signature_fails_naming_why(client, session, clock):
    world = await written(session, clock)
    await forge_signature(session, clock, world)
    body = (await client.get(PUBLIC, params=query(world.prescription))).json()
    assert body["valid"] is False and body["reason"] == "signature_invalid"
    assert body["reason_text"] == "签名与医生的公钥不符：签名系伪造。"


async def test_an_expired_prescription_says_so(client, session, clock):
    world = await written(session, clock)
    clock.advance(timedelta(days=1))
    body = (await client.get(PUBLIC, params=query(world.prescription))).json()
    assert body["valid"] is True and body["status"] == "expired"


@pytest.mark.parametrize("language", ["zh-CN", "en"])
@pytest.mark.parametrize("case", ["unknown number", "wrong code"])
async def test_unknown_number_or_wrong_code_is_a_clear_404_and_audited(
    client, session, clock, language, case
):
    prescription = (await written(session, clock)).prescription
    params = query(prescription)
    if case == "unknown number":
        params["number"] = "RX0000000001"
    else:
        params["code"] = "ZZZZ-ZZZZ-ZZZZ"
    refused = select(func.count()).where(AuditEntry.action == "prescription.verification_refused")
    before = await session.scalar(refused)
    headers = EN if language == "en" else {}
    response = await client.get(PUBLIC, params=params, headers=headers)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body = response.json()
    assert body["code"] == "prescribing.verification_unknown"
    expected = (
        "No prescription has this number and verification code. Check both against the paper."
        if language == "en"
        else "没有与此编号和验证码相符的处方。请对照纸质处方核对两者。"
    )
    assert body["detail"] == expected
    assert await session.scalar(refused) == before + 1


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"number": "RX1"}, "code"),
        ({"number": "RX1'; DROP TABLE prescriptions;--", "code": "ABCD"}, "number"),
        ({"number": "RX1", "code": "A" * 40}, "code"),
        ({"number": "处方一号", "code": "ABCD"}, "number"),
    ],
)
async def test_malformed_input_is_refused_naming_the_field(client, params, field):
    response = await client.get(PUBLIC, params=params, headers=EN)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    assert response.json()["errors"][0]["field"] == field


async def test_public_checks_are_rate_limited_per_client(
    session, clock, engine, session_factory, tmp_path
):
    settings = make_settings(tmp_path, prescription_verification_rate_per_ip=2)
    app = create_app(settings, clock=clock, engine=engine)
    app.state.sessionmaker = session_factory
    prescription = (await written(session, clock)).prescription
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
        answers = [
            (await client.get(PUBLIC, params=query(prescription))).status_code for _ in range(3)
        ]
        limited = await client.get(PUBLIC, params=query(prescription))
    assert answers == [200, 200, 429]
    assert limited.json()["code"] == "prescribing.too_many_verifications"
    assert int(limited.headers["Retry-After"]) > 0
    clock.advance(timedelta(seconds=61))
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
        assert (await client.get(PUBLIC, params=query(prescription))).status_code == 200


async def test_the_readers_get_the_full_check(client, session, clock):
    world = await written(session, clock)
    path = f"/api/prescriptions/{world.prescription.id}/verification"
    doctor = await session.get(type(world.pharmacist), world.practice.doctor.account_id)
    for account in (world.patient_account, doctor, world.pharmacist):
        response = await client.get(
            path, headers=await bearer(session, clock=clock, account=account)
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["valid"] and body["content_intact"] and body["signature_valid"]
        assert body["patient_name"] == "欧阳小明"
        assert body["algorithm"] == "Ed25519"
        assert body["content_sha256"] == body["recomputed_sha256"]
        assert body["verification_url"] == (
            f"https://testserver/verify/prescription?number={world.prescription.number}"
            f"&code={verification_code(world.prescription)}"
        )


async def test_the_full_check_shows_the_recomputed_hash_of_a_tampered_prescription(
    client, session, clock
):
    world = await written(session, clock)
    await edit_an_item(session, world.prescription)
    headers = await bearer(session, clock=clock, account=world.pharmacist)
    response = await client.get(
        f"/api/prescriptions/{world.prescription.id}/verification", headers=headers
    )
    body = response.json()
    assert body["reason"] == "content_changed" and not body["content_intact"]
    assert body["content_sha256"] != body["recomputed_sha256"]


async def test_another_patient_or_institution_finds_nothing(client, session, clock):
    world = await written(session, clock)
    outsiders = [
        await make_account(session, clock=clock),
        world.stranger_pharmacist,
    ]
    for account in outsiders:
        headers = await bearer(session, clock=clock, account=account)
        for suffix in ("verification", "pdf"):
            response = await client.get(
                f"/api/prescriptions/{world.prescription.id}/{suffix}", headers=headers
            )
            assert response.status_code == 404
            assert response.json()["code"] == "prescribing.prescription_not_found"
