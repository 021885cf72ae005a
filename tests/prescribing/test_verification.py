"""Verifying a prescription's signature (R06) and status (R16): anyone with the number and the
code; the full check for its patient, doctor and the institution's pharmacists; tampering named."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from ihospital.audit.models import AuditEntry
from ihospital.core.context import Actor
from ihospital.errors import NotFound
from ihospital.prescribing.verification import (
    current_status,
    key_fingerprint,
    verification_code,
    verification_url,
    verify_for_reader,
    verify_public,
)
from ihospital.security.signing import signing_key
from tests.consultation.builders import doctor_actor
from tests.identity.builders import make_account
from tests.prescribing.verification_world import (
    edit_an_item,
    forge_signature,
    sign_with_another_key,
    written,
)


def visitor(clock) -> Actor:
    return Actor(role="anonymous", clock=clock, ip="203.0.113.9")


def reader(clock, account) -> Actor:
    return Actor(
        role=account.role,
        clock=clock,
        account_id=account.id,
        institution_id=account.institution_id,
    )


async def _actions(session, prescription_id) -> list[tuple[str, str]]:
    rows = await session.execute(
        select(AuditEntry.action, AuditEntry.details)
        .where(AuditEntry.subject_type == "prescription")
        .where(AuditEntry.subject_id == str(prescription_id))
        .order_by(AuditEntry.id)
    )
    return [(action, details) for action, details in rows]


async def test_a_signed_prescription_verifies_with_its_number_and_code(session, clock):
    world = await written(session, clock)
    prescription = world.prescription
    code = verification_code(prescription)
    assert len(code) == 14 and code.count("-") == 2
    verification = await verify_public(
        session, visitor(clock), number=prescription.number, code=code.lower().replace("-", " ")
    )
    assert verification is not None
    assert verification.check.valid and verification.check.reason is None
    assert verification.status == "approved"
    assert verification.masked_patient_name == "欧**明"
    assert verification.doctor_name == world.practice.doctor.name
    assert [item.drug_name for item in verification.items] == [
        "苯磺酸氨氯地平片",
        "盐酸二甲双胍缓释片",
    ]
    key = await signing_key(session, key_id=prescription.signing_key_id)
    assert verification.fingerprint == key_fingerprint(key.public_key)
    [(action, details)] = await _actions(session, prescription.id)
    assert action == "prescription.verified"
    assert '"valid": true' in details and '"public": true' in details


async def test_the_code_depends_on_the_signed_content_not_only_on_the_number(session, clock):
    first = (await written(session, clock)).prescription
    second = (await written(session, clock)).prescription
    assert verification_code(first) != verification_code(second)
    url = verification_url("https://rx.example.cn/", first)
    assert url.startswith("https://rx.example.cn/verify/prescription?number=")
    assert url.endswith(f"&code={verification_code(first)}")


async def test_an_unknown_number_and_a_wrong_code_give_one_answer_and_are_audited(session, clock):
    prescription = (await written(session, clock)).prescription
    wrong = await verify_public(
        session, visitor(clock), number=prescription.number, code="AAAA-AAAA-AAAA"
    )
    unknown = await verify_public(
        session, visitor(clock), number="RX0000000000", code=verification_code(prescription)
    )
    assert wrong is None and unknown is None
    refused = await session.scalars(
        select(AuditEntry.subject_id).where(
            AuditEntry.action == "prescription.verification_refused"
        )
    )
    assert sorted(refused) == sorted([str(prescription.id), "-"])


async def test_an_item_edited_in_the_database_after_signing_is_named(session, clock):
    world = await written(session, clock)
    code = verification_code(world.prescription)
    await edit_an_item(session, world.prescription)
    verification = await verify_public(
        session, visitor(clock), number=world.prescription.number, code=code
    )
    assert not verification.check.valid
    assert verification.check.reason == "content_changed"
    assert not verification.check.content_intact and not verification.check.signature_valid


async def test_a_forged_signature_is_named(session, clock):
    world = await written(session, clock)
    await forge_signature(session, clock, world)
    verification = await verify_public(
        session,
        visitor(clock),
        number=world.prescription.number,
        code=verification_code(world.prescription),
    )
    assert verification.check.content_intact
    assert verification.check.reason == "signature_invalid"


async def test_a_key_that_is_not_the_prescribers_is_unknown(session, clock):
    world = await written(session, clock)
    await sign_with_another_key(session, clock, world)
    verification = await verify_for_reader(
        session, doctor_actor(clock, world.practice.doctor), prescription_id=world.prescription.id
    )
    assert verification.check.reason == "unknown_key"
    assert verification.fingerprint is None


@pytest.mark.parametrize(
    ("status", "days_later", "expected"),
    [
        ("approved", 0, "approved"),
        ("approved", 1, "expired"),
        ("pending_review", 1, "expired"),
        ("filled", 5, "filled"),
        ("rejected", 5, "rejected"),
        ("voided", 0, "voided"),
    ],
)
async def test_the_status_applies_r16_in_beijing_time(session, clock, status, days_later, expected):
    prescription = (await written(session, clock, status=status)).prescription
    today = clock.today_local() + timedelta(days=days_later)
    assert current_status(prescription, today) == expected


async def test_an_extended_validity_lasts_its_days(session, clock):
    prescription = (await written(session, clock, validity_days=3)).prescription
    assert current_status(prescription, clock.today_local() + timedelta(days=2)) == "approved"
    assert current_status(prescription, clock.today_local() + timedelta(days=3)) == "expired"


async def test_the_patient_doctor_and_pharmacist_get_the_full_check(session, clock):
    world = await written(session, clock)
    for actor in (
        reader(clock, world.patient_account),
        doctor_actor(clock, world.practice.doctor),
        reader(clock, world.pharmacist),
    ):
        verification = await verify_for_reader(
            session, actor, prescription_id=world.prescription.id
        )
        assert verification.check.valid
    actions = await _actions(session, world.prescription.id)
    assert [action for action, _ in actions] == ["prescription.verified"] * 3
    assert all('"public": false' in details for _, details in actions)


async def test_nobody_else_finds_the_prescription(session, clock):
    world = await written(session, clock)
    other_patient = await make_account(session, clock=clock)
    nurse = await make_account(
        session, role="nurse", institution_id=world.practice.institution.id, clock=clock
    )
    for actor in (
        reader(clock, other_patient),
        doctor_actor(clock, world.practice.colleague),
        reader(clock, world.stranger_pharmacist),
        reader(clock, nurse),
    ):
        with pytest.raises(NotFound):
            await verify_for_reader(session, actor, prescription_id=world.prescription.id)


async def test_the_patient_reads_a_prescription_only_once_approved(session, clock):
    world = await written(session, clock, status="pending_review")
    with pytest.raises(NotFound):
        await verify_for_reader(
            session, reader(clock, world.patient_account), prescription_id=world.prescription.id
        )
    verification = await verify_for_reader(
        session, reader(clock, world.pharmacist), prescription_id=world.prescription.id
    )
    assert verification.status == "pending_review"
