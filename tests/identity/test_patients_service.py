import json
from datetime import date

import pytest
from sqlalchemy import select

from ihospital.audit.models import AuditEntry
from ihospital.core.context import Actor
from ihospital.core.ids import check_character
from ihospital.errors import Conflict, NotFound, Unprocessable
from ihospital.identity.models import Patient, RealNameCheck
from ihospital.identity.patients import (
    ID_NUMBER_PURPOSE,
    KEEP,
    MAX_ACTIVE_PATIENTS,
    add_patient,
    deactivate_patient,
    get_patient,
    list_patients,
    patient_age,
    retry_realname_verification,
    update_patient,
    validate_patient_name,
)
from ihospital.identity.providers import RealNameAnswer, RealNameTimeout, SandboxRealNameProvider
from tests.identity.builders import CIPHER, make_account, make_id_number, make_patient

SANDBOX = SandboxRealNameProvider()


class FlakyProvider:
    """Times out ``timeouts`` times, then matches."""

    name = "flaky"

    def __init__(self, timeouts: int) -> None:
        self.timeouts = timeouts

    async def verify(self, *, name: str, id_number: str) -> RealNameAnswer:
        if self.timeouts:
            self.timeouts -= 1
            raise RealNameTimeout("no answer")
        return RealNameAnswer(True, "FLAKY-1")


def owner(account, clock):
    return Actor(role="patient", clock=clock, account_id=account.id)


async def add(session, actor, *, provider=SANDBOX, **values):
    values.setdefault("name", "王小明")
    values.setdefault("relationship", "child")
    values.setdefault("id_number", make_id_number(birth_date=date(2020, 11, 24), sex="male"))
    return await add_patient(session, actor, cipher=CIPHER, provider=provider, **values)


async def test_added_patient_reads_birth_date_and_sex_and_is_verified(session, clock):
    account = await make_account(session)
    number = make_id_number(birth_date=date(2020, 11, 24), sex="female")
    patient = await add(session, owner(account, clock), id_number=number.lower())
    assert patient.birth_date == date(2020, 11, 24)
    assert patient.sex == "female"
    assert patient_age(patient, clock.today_local()) == 5
    assert patient.id_number_masked == number[:4] + "*" * 10 + number[-4:]
    assert patient.realname_status == "verified"
    assert patient.realname_verified_at == clock.now()
    check = (await session.scalars(select(RealNameCheck))).one()
    assert (check.patient_id, check.outcome, check.provider) == (patient.id, "matched", "sandbox")


async def test_id_number_is_stored_encrypted_with_a_blind_index(session, clock):
    account = await make_account(session)
    number = make_id_number()
    patient = await add(session, owner(account, clock), id_number=number)
    assert number not in patient.id_number_cipher
    assert number[6:14] not in patient.id_number_cipher
    assert CIPHER.decrypt(patient.id_number_cipher, purpose=ID_NUMBER_PURPOSE) == number
    assert patient.id_number_index == CIPHER.blind_index(number, purpose=ID_NUMBER_PURPOSE)


async def test_mismatch_fails_with_the_reason(session, clock):
    account = await make_account(session)
    number = "11010119900101999" + check_character("11010119900101999")  # sandbox: no match
    patient = await add(session, owner(account, clock), id_number=number)
    assert patient.realname_status == "failed"
    assert patient.realname_reason == "The name does not match the ID number."
    assert patient.realname_verified_at is None


async def test_timeout_leaves_the_check_pending_and_a_retry_completes_it(session, clock):
    account = await make_account(session)
    actor = owner(account, clock)
    provider = FlakyProvider(timeouts=1)
    patient = await add(session, actor, provider=provider)
    assert patient.realname_status == "pending"
    retried = await retry_realname_verification(
        session, actor, patient_id=patient.id, cipher=CIPHER, provider=provider
    )
    assert retried.realname_status == "verified"
    outcomes = await session.scalars(select(RealNameCheck.outcome).order_by(RealNameCheck.id))
    assert outcomes.all() == ["timeout", "matched"]


async def test_retry_of_a_verified_patient_is_refused(session, clock):
    patient = await make_patient(session)
    actor = Actor(role="patient", clock=clock, account_id=patient.account_id)
    with pytest.raises(Conflict, match="identity.realname_already_verified"):
        await retry_realname_verification(
            session, actor, patient_id=patient.id, cipher=CIPHER, provider=SANDBOX
        )


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("name", "<script>alert(1)</script>", "identity.patient_name_invalid"),
        ("name", "x' OR '1'='1", "identity.patient_name_invalid"),
        ("name", "张" * 33, "identity.patient_name_invalid"),
        ("relationship", "boss", "identity.relationship_unknown"),
        ("id_number", "110105194912310021", "identity.id_number_invalid"),
        ("mobile", "12345", "identity.mobile_invalid"),
    ],
)
async def test_bad_values_are_refused_naming_the_field(session, clock, field, value, code):
    account = await make_account(session)
    with pytest.raises(Unprocessable) as caught:
        await add(session, owner(account, clock), **{field: value})
    assert caught.value.code == code
    assert caught.value.fields["field"] == field
    assert (await session.scalars(select(Patient))).first() is None


async def test_birth_date_in_the_future_is_refused(session, clock):
    account = await make_account(session)
    with pytest.raises(Unprocessable) as caught:
        await add(
            session, owner(account, clock), id_number=make_id_number(birth_date=date(2026, 11, 24))
        )
    assert caught.value.fields["reason"] == "future"


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("张三", "张三"),
        ("  李  四 ", "李 四"),
        ("买买提・艾力", "买买提·艾力"),
        ("John Smith", "John Smith"),
        ("José", "José"),
        ("𠇔仁", "𠇔仁"),
    ],
)
def test_names_as_on_id_cards_are_accepted(given, stored):
    assert validate_patient_name(given) == stored


@pytest.mark.parametrize("name", ["", "·张三", "张三·", "张··三", "李4", "Robert'); DROP TABLE--"])
def test_names_that_cannot_be_on_an_id_card_are_refused(name):
    with pytest.raises(ValueError):
        validate_patient_name(name)


async def test_same_id_number_twice_is_refused_on_any_account(session, clock):
    number = make_id_number()
    first = await make_account(session)
    second = await make_account(session)
    await add(session, owner(first, clock), id_number=number)
    for account in (first, second):
        with pytest.raises(Conflict) as caught:
            await add(session, owner(account, clock), id_number=number, relationship="other")
        assert caught.value.code == "identity.id_number_registered"
        problem = caught.value.to_problem("en")
        values = [value for key, value in problem.items() if key != "status"]
        assert first.id not in values and str(first.id) not in values


async def test_a_removed_patient_frees_the_id_number(session, clock):
    account = await make_account(session)
    actor = owner(account, clock)
    number = make_id_number()
    patient = await add(session, actor, id_number=number)
    await deactivate_patient(session, actor, patient_id=patient.id)
    again = await add(session, actor, id_number=number)
    assert again.id != patient.id
    assert (await session.get(Patient, patient.id)).is_active is False


async def test_only_one_self_per_account(session, clock):
    account = await make_account(session)
    actor = owner(account, clock)
    await add(session, actor, relationship="self")
    with pytest.raises(Conflict, match="identity.self_exists"):
        await add(session, actor, relationship="self")
    child = await add(session, actor, relationship="child")
    with pytest.raises(Conflict, match="identity.self_exists"):
        await update_patient(
            session,
            actor,
            patient_id=child.id,
            relationship="self",
            cipher=CIPHER,
            provider=SANDBOX,
        )


async def test_at_most_ten_active_patients(session, clock):
    account = await make_account(session)
    actor = owner(account, clock)
    patients = [await add(session, actor) for _ in range(MAX_ACTIVE_PATIENTS)]
    with pytest.raises(Conflict) as caught:
        await add(session, actor)
    assert caught.value.code == "identity.patient_limit"
    await deactivate_patient(session, actor, patient_id=patients[0].id)
    await add(session, actor)


async def test_another_accounts_patient_does_not_exist_for_you(session, clock):
    patient = await make_patient(session)
    stranger = owner(await make_account(session), clock)
    with pytest.raises(NotFound):
        await get_patient(session, stranger, patient_id=patient.id)
    with pytest.raises(NotFound):
        await update_patient(
            session, stranger, patient_id=patient.id, name="李四", cipher=CIPHER, provider=SANDBOX
        )
    with pytest.raises(NotFound):
        await deactivate_patient(session, stranger, patient_id=patient.id)
    with pytest.raises(NotFound):
        await retry_realname_verification(
            session, stranger, patient_id=patient.id, cipher=CIPHER, provider=SANDBOX
        )
    assert (await list_patients(session, stranger)) == []


async def test_new_name_is_verified_again(session, clock):
    patient = await make_patient(session, name="超时")
    actor = Actor(role="patient", clock=clock, account_id=patient.account_id)
    patient.realname_status = "pending"
    updated = await update_patient(
        session, actor, patient_id=patient.id, name="张三", cipher=CIPHER, provider=SANDBOX
    )
    assert updated.name == "张三"
    assert updated.realname_status == "verified"


async def test_mobile_only_change_keeps_the_verification(session, clock):
    patient = await make_patient(session)
    actor = Actor(role="patient", clock=clock, account_id=patient.account_id)
    updated = await update_patient(
        session,
        actor,
        patient_id=patient.id,
        mobile="13912345678",
        name=KEEP,
        cipher=CIPHER,
        provider=SANDBOX,
    )
    assert updated.mobile == "13912345678"
    assert updated.realname_status == "verified"
    cleared = await update_patient(
        session, actor, patient_id=patient.id, mobile=None, cipher=CIPHER, provider=SANDBOX
    )
    assert cleared.mobile is None


async def test_removed_patient_cannot_be_changed(session, clock):
    patient = await make_patient(session)
    actor = Actor(role="patient", clock=clock, account_id=patient.account_id)
    await deactivate_patient(session, actor, patient_id=patient.id)
    with pytest.raises(Conflict, match="identity.patient_inactive"):
        await update_patient(
            session, actor, patient_id=patient.id, name="李四", cipher=CIPHER, provider=SANDBOX
        )
    assert await list_patients(session, actor) == []
    assert [p.id for p in await list_patients(session, actor, include_inactive=True)] == [
        patient.id
    ]


async def test_every_read_and_change_is_audited_with_the_patient(session, clock):
    account = await make_account(session)
    actor = owner(account, clock)
    patient = await add(session, actor)
    await get_patient(session, actor, patient_id=patient.id)
    await list_patients(session, actor)
    await update_patient(
        session, actor, patient_id=patient.id, mobile="13912345678", cipher=CIPHER, provider=SANDBOX
    )
    await deactivate_patient(session, actor, patient_id=patient.id)
    entries = (
        await session.scalars(
            select(AuditEntry).where(AuditEntry.action.like("patient.%")).order_by(AuditEntry.id)
        )
    ).all()
    assert [e.action for e in entries] == [
        "patient.create",
        "patient.realname_check",
        "patient.read",
        "patient.list",
        "patient.update",
        "patient.deactivate",
    ]
    assert all(e.patient_id == patient.id for e in entries if e.action != "patient.list")
    assert json.loads(entries[3].details) == {"patient_ids": [patient.id]}
    assert all(e.actor_account_id == account.id for e in entries)
