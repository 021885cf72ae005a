from datetime import date

import pytest
from sqlalchemy import select

from ihospital.audit.models import AuditEntry
from ihospital.core.ids import check_character
from ihospital.identity.providers import RealNameAnswer, RealNameTimeout
from tests.identity.builders import auth_headers, make_account, make_id_number, make_patient


class FlakyProvider:
    name = "flaky"

    def __init__(self, timeouts: int) -> None:
        self.timeouts = timeouts

    async def verify(self, *, name: str, id_number: str) -> RealNameAnswer:
        if self.timeouts:
            self.timeouts -= 1
            raise RealNameTimeout("no answer")
        return RealNameAnswer(True, "FLAKY-1")


@pytest.fixture
async def owner(session):
    account = await make_account(session)
    return account, await auth_headers(session, account=account)


def patient_body(**overrides):
    return {
        "name": "王小明",
        "relationship": "child",
        "id_number": make_id_number(birth_date=date(2020, 11, 24), sex="male"),
        **overrides,
    }


async def test_create_verifies_and_returns_only_the_masked_number(client, owner):
    _, headers = owner
    number = make_id_number(birth_date=date(2020, 11, 24), sex="female")
    response = await client.post(
        "/api/patients", headers=headers, json=patient_body(id_number=number.lower())
    )
    assert response.status_code == 201
    body = response.json()
    assert body["id_number_masked"] == f"{number[:4]}{'*' * 10}{number[-4:]}"
    assert (body["birth_date"], body["sex"], body["age"]) == ("2020-11-24", "female", 5)
    assert body["realname_status"] == "verified"
    assert number not in response.text and number.lower() not in response.text
    assert "id_number" not in body


async def test_no_endpoint_ever_returns_the_full_number(client, owner):
    _, headers = owner
    number = make_id_number()
    created = (
        await client.post("/api/patients", headers=headers, json=patient_body(id_number=number))
    ).json()
    path = f"/api/patients/{created['id']}"
    responses = [
        await client.get("/api/patients", headers=headers),
        await client.get(path, headers=headers),
        await client.patch(path, headers=headers, json={"mobile": "13912345678"}),
        await client.post(f"{path}/realname-verification", headers=headers),
        await client.post("/api/patients", headers=headers, json=patient_body(id_number=number)),
    ]
    for response in responses:
        assert number not in response.text
        assert number[6:14] not in response.text  # not even the birth-date digits as typed


async def test_sandbox_mismatch_fails_with_a_reason(client, owner):
    _, headers = owner
    number = "11010120100101999" + check_character("11010120100101999")
    response = await client.post(
        "/api/patients", headers=headers, json=patient_body(id_number=number)
    )
    assert response.status_code == 201
    assert response.json()["realname_status"] == "failed"
    assert response.json()["realname_reason"] == "姓名与身份证号码不一致。"


async def test_timeout_is_pending_and_the_retry_endpoint_completes_it(client, app, owner):
    _, headers = owner
    app.state.realname_provider = FlakyProvider(timeouts=1)
    created = await client.post("/api/patients", headers=headers, json=patient_body())
    assert created.json()["realname_status"] == "pending"
    retried = await client.post(
        f"/api/patients/{created.json()['id']}/realname-verification", headers=headers
    )
    assert retried.status_code == 200
    assert retried.json()["realname_status"] == "verified"
    again = await client.post(
        f"/api/patients/{created.json()['id']}/realname-verification", headers=headers
    )
    assert again.status_code == 409


async def test_sandbox_timeout_by_name(client, owner):
    _, headers = owner
    response = await client.post("/api/patients", headers=headers, json=patient_body(name="超时"))
    assert response.json()["realname_status"] == "pending"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("id_number", "11010519491231002"),
        ("id_number", "110105194912310021"),
        ("id_number", "11010519491231002Z"),
        ("id_number", "1101051949123100 X"),
        ("id_number", "11010519490230002" + check_character("11010519490230002")),
        ("id_number", 110105194912310021),
        ("name", "<script>alert('x')</script>"),
        ("name", "<img src=x onerror=alert(1)>"),
        ("name", "Robert'); DROP TABLE patients;--"),
        ("name", "' OR 1=1 --"),
        ("name", "a" * 1_000_000),  # a 1 MB name: within the body limit, refused by the schema
        ("name", ""),
        ("relationship", "friend"),
        ("mobile", "1234"),
    ],
)
async def test_bad_input_is_refused_naming_the_field(client, owner, field, value):
    _, headers = owner
    response = await client.post(
        "/api/patients", headers=headers, json=patient_body(**{field: value})
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"][0]["field"] == field
    listing = await client.get("/api/patients", headers=headers)
    assert listing.json() == []


async def test_future_birth_date_is_refused_by_the_service(client, owner):
    _, headers = owner
    number = make_id_number(birth_date=date(2027, 1, 1))
    response = await client.post(
        "/api/patients", headers=headers, json=patient_body(id_number=number)
    )
    assert response.status_code == 422
    assert response.json()["code"] == "identity.id_number_invalid"
    assert response.json()["field"] == "id_number"
    assert response.json()["reason"] == "future"


async def test_id_number_of_another_account_is_refused_without_saying_whose(client, session, owner):
    _, headers = owner
    holder = await make_account(session, display_name="Holder Name")
    number = make_id_number()
    await make_patient(session, account=holder, id_number=number, name="李四")
    response = await client.post(
        "/api/patients", headers=headers, json=patient_body(id_number=number)
    )
    assert response.status_code == 409
    assert response.json()["code"] == "identity.id_number_registered"
    for secret in (holder.mobile, "Holder Name", "李四", str(holder.id)):
        assert secret not in response.text


async def test_same_number_twice_on_one_account_is_refused(client, owner):
    _, headers = owner
    body = patient_body()
    assert (await client.post("/api/patients", headers=headers, json=body)).status_code == 201
    response = await client.post("/api/patients", headers=headers, json=body)
    assert response.status_code == 409
    assert response.json()["code"] == "identity.id_number_registered"


async def test_eleventh_patient_is_refused(client, session, owner):
    account, headers = owner
    for _ in range(10):
        await make_patient(session, account=account, relationship="child")
    response = await client.post("/api/patients", headers=headers, json=patient_body())
    assert response.status_code == 409
    assert response.json()["code"] == "identity.patient_limit"


async def test_second_self_is_refused(client, owner):
    _, headers = owner
    assert (
        await client.post("/api/patients", headers=headers, json=patient_body(relationship="self"))
    ).status_code == 201
    response = await client.post(
        "/api/patients", headers=headers, json=patient_body(relationship="self")
    )
    assert response.status_code == 409
    assert response.json()["code"] == "identity.self_exists"


async def test_list_read_patch_and_delete(client, session, owner):
    account, headers = owner
    patient = await make_patient(
        session, account=account, age=70, name="王建国", relationship="parent"
    )
    listing = await client.get("/api/patients", headers=headers)
    assert [p["id"] for p in listing.json()] == [patient.id]
    assert listing.json()[0]["age"] == 70

    path = f"/api/patients/{patient.id}"
    assert (await client.get(path, headers=headers)).json()["name"] == "王建国"
    patched = await client.patch(path, headers=headers, json={"mobile": "13912345678"})
    assert patched.status_code == 200
    assert patched.json()["mobile"] == "13912345678"
    assert patched.json()["name"] == "王建国"
    cleared = await client.patch(path, headers=headers, json={"mobile": None})
    assert cleared.json()["mobile"] is None

    assert (await client.delete(path, headers=headers)).status_code == 204
    assert (await client.get("/api/patients", headers=headers)).json() == []
    removed = await client.get("/api/patients?include_inactive=true", headers=headers)
    assert removed.json()[0]["is_active"] is False
    assert (await client.get(path, headers=headers)).json()["is_active"] is False
    refused = await client.patch(path, headers=headers, json={"name": "王国"})
    assert refused.status_code == 409


async def test_another_account_gets_404_for_everything(client, session, owner):
    _, headers = owner
    patient = await make_patient(session)
    path = f"/api/patients/{patient.id}"
    responses = [
        await client.get(path, headers=headers),
        await client.patch(path, headers=headers, json={"name": "李四"}),
        await client.delete(path, headers=headers),
        await client.post(f"{path}/realname-verification", headers=headers),
    ]
    assert [r.status_code for r in responses] == [404] * 4
    assert {r.json()["code"] for r in responses} == {"identity.patient_not_found"}
    missing = await client.get("/api/patients/987654321", headers=headers)
    assert (
        missing.json()["detail"].replace("987654321", str(patient.id))
        == responses[0].json()["detail"]
    )
    await session.refresh(patient)
    assert patient.is_active and patient.name == "张三"


@pytest.mark.parametrize("patient_id", ["0", "-1", "abc", str(2**63), "1e3"])
async def test_bad_patient_ids_are_422(client, owner, patient_id):
    _, headers = owner
    response = await client.get(f"/api/patients/{patient_id}", headers=headers)
    assert response.status_code == 422


async def test_staff_roles_have_no_patient_list(client, session):
    regulator = await make_account(session, role="regulator")
    response = await client.get(
        "/api/patients", headers=await auth_headers(session, account=regulator)
    )
    assert response.status_code == 403


async def test_patients_need_a_signed_in_caller(client):
    assert (await client.get("/api/patients")).status_code == 401
    assert (await client.post("/api/patients", json=patient_body())).status_code == 401


async def test_reads_through_the_api_are_audited(client, session, owner):
    account, headers = owner
    patient = await make_patient(session, account=account)
    await client.get(f"/api/patients/{patient.id}", headers=headers)
    await client.get("/api/patients", headers=headers)
    entries = (
        await session.scalars(
            select(AuditEntry)
            .where(AuditEntry.action.in_(["patient.read", "patient.list"]))
            .order_by(AuditEntry.id)
        )
    ).all()
    assert [(e.action, e.patient_id, e.actor_account_id) for e in entries] == [
        ("patient.read", patient.id, account.id),
        ("patient.list", None, account.id),
    ]
