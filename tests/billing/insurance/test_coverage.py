"""Coverage of a 就诊人: added, read, changed and ended only by the managing account, audited,
with the insurance number encrypted and masked."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from ihospital.audit.models import AuditEntry
from ihospital.billing.insurance.coverage import (
    end_coverage,
    get_coverage,
    update_coverage,
)
from ihospital.errors import Conflict, NotFound, Unprocessable
from tests.billing.insurance.builders import make_coverage, new_insurance_number, owner
from tests.identity.builders import make_patient


async def _actions(session, patient_id):
    rows = await session.scalars(
        select(AuditEntry.action)
        .where(AuditEntry.patient_id == patient_id, AuditEntry.subject_type == "coverage")
        .order_by(AuditEntry.id)
    )
    return list(rows.all())


async def test_the_owner_adds_reads_changes_and_ends_a_coverage_and_each_step_is_audited(
    session, clock
):
    patient = await make_patient(session, clock=clock)
    number = new_insurance_number()
    coverage = await make_coverage(
        session, patient=patient, clock=clock, insurance_number=number, account_balance_fen=5_000
    )
    assert coverage.insurance_number_masked == number[:2] + "*" * (len(number) - 4) + number[-2:]
    assert number not in coverage.insurance_number_cipher

    read = await get_coverage(session, owner(patient, clock), patient_id=patient.id)
    assert (read.id, read.account_balance_fen, read.region_code) == (coverage.id, 5_000, "420102")

    changed = await update_coverage(
        session,
        owner(patient, clock),
        patient_id=patient.id,
        account_balance_fen=12_345,
        valid_from=date(2026, 1, 1),
        valid_to=date(2026, 12, 31),
    )
    assert (changed.account_balance_fen, changed.valid_to) == (12_345, date(2026, 12, 31))

    await end_coverage(session, owner(patient, clock), patient_id=patient.id)
    with pytest.raises(NotFound) as missing:
        await get_coverage(session, owner(patient, clock), patient_id=patient.id)
    assert missing.value.code == "insurance.coverage_not_found"
    assert await _actions(session, patient.id) == [
        "coverage.create",
        "coverage.read",
        "coverage.update",
        "coverage.end",
    ]


async def test_another_account_is_told_the_patient_does_not_exist(session, clock):
    patient = await make_patient(session, clock=clock)
    await make_coverage(session, patient=patient, clock=clock)
    stranger = await make_patient(session, clock=clock)
    with pytest.raises(NotFound) as hidden:
        await get_coverage(session, owner(stranger, clock), patient_id=patient.id)
    assert hidden.value.code == "identity.patient_not_found"
    with pytest.raises(NotFound):
        await update_coverage(
            session,
            owner(stranger, clock),
            patient_id=patient.id,
            account_balance_fen=0,
            valid_from=date(2026, 1, 1),
            valid_to=None,
        )
    assert await _actions(session, patient.id) == ["coverage.create"]


async def test_a_second_coverage_of_the_same_patient_is_refused(session, clock):
    patient = await make_patient(session, clock=clock)
    await make_coverage(session, patient=patient, clock=clock)
    with pytest.raises(Conflict) as refused:
        await make_coverage(session, patient=patient, clock=clock, region_code="110105")
    assert refused.value.code == "insurance.coverage_exists"


async def test_an_insurance_number_belongs_to_one_person(session, clock):
    number = new_insurance_number()
    await make_coverage(
        session,
        patient=await make_patient(session, clock=clock),
        clock=clock,
        insurance_number=number,
    )
    with pytest.raises(Conflict) as refused:
        await make_coverage(
            session,
            patient=await make_patient(session, clock=clock),
            clock=clock,
            insurance_number=number.lower(),
        )
    assert refused.value.code == "insurance.number_registered"


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"insurance_type": "commercial"}, "insurance.type_unknown"),
        ({"region_code": "4201"}, "insurance.region_invalid"),
        ({"region_code": "990100"}, "insurance.region_invalid"),
        ({"insurance_number": "12-34"}, "insurance.number_invalid"),
        ({"account_balance_fen": -1}, "insurance.balance_invalid"),
        ({"account_balance_fen": 12.5}, "insurance.balance_invalid"),
        (
            {"insurance_type": "resident", "account_balance_fen": 100},
            "insurance.account_employee_only",
        ),
        ({"valid_to": date(2025, 12, 31)}, "insurance.period_invalid"),
    ],
)
async def test_bad_coverage_input_is_refused_and_nothing_is_stored(session, clock, changes, code):
    patient = await make_patient(session, clock=clock)
    with pytest.raises(Unprocessable) as refused:
        await make_coverage(session, patient=patient, clock=clock, **changes)
    assert refused.value.code == code
    with pytest.raises(NotFound):
        await get_coverage(session, owner(patient, clock), patient_id=patient.id)
