"""就诊人 as staff see them on lists: full or masked names, sex, age, and an audited read."""

import json

import pytest
from sqlalchemy import select

from ihospital.audit.models import AuditEntry
from ihospital.core.context import Actor
from ihospital.identity.patient_cards import mask_name, patient_cards
from tests.identity.builders import make_patient


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("王", "王"),
        ("张三", "张*"),
        ("李小明", "李*明"),
        ("欧阳小明", "欧**明"),
        ("Li Lei", "L****i"),
    ],
)
def test_a_masked_name_keeps_only_the_first_and_last_characters(name, masked):
    assert mask_name(name) == masked


async def test_cards_give_name_sex_and_age_and_the_read_is_audited(session, clock):
    patient = await make_patient(session, clock=clock, name="李小明", age=7, sex="female")
    staff = Actor(role="doctor", clock=clock, account_id=patient.account_id)
    full = await patient_cards(
        session, staff, patient_ids=[patient.id, patient.id], purpose="test", masked=False
    )
    masked = await patient_cards(
        session, staff, patient_ids=[patient.id], purpose="test", masked=True
    )
    assert (full[patient.id].name, full[patient.id].sex, full[patient.id].age) == (
        "李小明",
        "female",
        7,
    )
    assert masked[patient.id].name == "李*明"
    assert await patient_cards(session, staff, patient_ids=[], purpose="test", masked=True) == {}
    reads = [
        json.loads(details)
        for details in await session.scalars(
            select(AuditEntry.details).where(AuditEntry.action == "patient.cards.read")
        )
    ]
    assert reads == [
        {"patient_ids": [patient.id], "purpose": "test", "masked": False},
        {"patient_ids": [patient.id], "purpose": "test", "masked": True},
    ]
