"""Patient A never reaches patient B's data, and nobody learns whether someone else's object exists.

Every way to name B's 就诊人 or inbox message (API and pages: read, change, remove, real-name
retry, its medical insurance, mark as read) answers exactly as for an id that does not exist,
changes nothing and leaves no audit entry about B. Lists hold only one's own. Patients cannot
read the audit log, and a doctor with no relation to a patient cannot read the patient's data.
"""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import func, select

from ihospital.audit.models import AuditEntry
from ihospital.billing.insurance.models import Coverage
from ihospital.identity.models import Patient
from tests.billing.insurance.builders import make_coverage
from tests.directory.builders import bearer, doctor_account, make_doctor, make_institution
from tests.identity.builders import auth_headers, csrf_token, make_account, make_patient
from tests.notifications.builders import make_inbox_message
from tests.web.builders import sign_in_as

MISSING_ID = 987_654_321
B_NAME = "李秘密"
B_MESSAGE = "B's private message"

COVERAGE = {
    "insurance_type": "resident",
    "region_code": "420102",
    "insurance_number": "YB4201020001",
    "valid_from": "2026-01-01",
}
PATIENT_CALLS = [
    ("GET", "/api/patients/{id}", None),
    ("PATCH", "/api/patients/{id}", {"json": {"name": "王改名", "mobile": "13912345678"}}),
    ("DELETE", "/api/patients/{id}", None),
    ("POST", "/api/patients/{id}/realname-verification", None),
    ("GET", "/patients/{id}", None),
    ("POST", "/patients/{id}", {"data": {"name": "王改名", "relationship": "other", "mobile": ""}}),
    ("POST", "/patients/{id}/realname-verification", {"data": {}}),
    ("POST", "/patients/{id}/remove", {"data": {}}),
    ("GET", "/api/patients/{id}/coverage", None),
    ("POST", "/api/patients/{id}/coverage", {"json": COVERAGE}),
    ("PATCH", "/api/patients/{id}/coverage", {"json": {"valid_to": None}}),
    ("DELETE", "/api/patients/{id}/coverage", None),
    ("GET", "/patients/{id}/coverage", None),
    ("POST", "/patients/{id}/coverage/new", {"data": COVERAGE}),
    ("POST", "/patients/{id}/coverage", {"data": {"valid_from": "2026-01-01", "valid_to": ""}}),
    ("POST", "/patients/{id}/coverage/end", {"data": {}}),
]
MESSAGE_CALLS = [
    ("POST", "/api/inbox/{id}/read", None),
    ("POST", "/inbox/{id}/read", {"data": {}}),
]


@pytest.fixture
async def two_patients(session, client, clock):
    """Patient A signed in on ``client`` (browser) with API headers; B with a 就诊人 whose real
    name failed (so a retry would change it), who has medical insurance, and an unread inbox
    message."""
    a = await make_account(session)
    await make_patient(session, account=a, name="张三")
    b = await make_account(session)
    b_patient = await make_patient(session, account=b, name=B_NAME, realname="failed")
    await make_coverage(session, patient=b_patient, clock=clock)
    b_message = await make_inbox_message(session, account=b, title=B_MESSAGE, body=B_MESSAGE)
    await sign_in_as(session, client, account=a, clock=clock)
    return a, await auth_headers(session, account=a), b_patient, b_message


async def _send(client, headers, method, template, object_id, extra):
    kwargs = dict(extra or {})
    if template.startswith("/api/"):
        kwargs["headers"] = headers
    else:
        kwargs["data"] = {**kwargs.get("data", {}), "csrf_token": await csrf_token(client)}
    return await client.request(method, template.format(id=object_id), **kwargs)


def _without_id(response: httpx.Response, object_id: int) -> tuple[int, str, str]:
    """Status, content type and body with the id blanked (not the status, when the id happens
    to be 404), for comparing two answers."""
    text = re.sub(rf'(?<!"status":)\b{object_id}\b', "<id>", response.text)
    return response.status_code, response.headers.get("content-type", ""), text


async def _audit_rows(session) -> int:
    return await session.scalar(select(func.count()).select_from(AuditEntry))


@pytest.mark.parametrize(("method", "template", "extra"), PATIENT_CALLS, ids=lambda v: str(v))
async def test_another_accounts_patient_answers_as_a_missing_one(
    client, session, two_patients, method, template, extra
):
    _, headers, b_patient, _ = two_patients
    before = await _audit_rows(session)
    theirs = await _send(client, headers, method, template, b_patient.id, extra)
    assert await _audit_rows(session) == before, "a refused call left an audit entry"
    missing = await _send(client, headers, method, template, MISSING_ID, extra)
    assert theirs.status_code == 404
    assert theirs.json()["code"] == "identity.patient_not_found"
    assert _without_id(theirs, b_patient.id) == _without_id(missing, MISSING_ID)
    assert B_NAME not in theirs.text
    await session.refresh(b_patient)
    assert (b_patient.name, b_patient.is_active, b_patient.mobile, b_patient.realname_status) == (
        B_NAME,
        True,
        None,
        "failed",
    )
    coverage = await session.scalar(
        select(Coverage)
        .where(Coverage.patient_id == b_patient.id)
        .execution_options(populate_existing=True)
    )
    assert (coverage.is_active, coverage.valid_to) == (True, None)


@pytest.mark.parametrize(("method", "template", "extra"), MESSAGE_CALLS, ids=lambda v: str(v))
async def test_another_accounts_message_answers_as_a_missing_one(
    client, session, two_patients, method, template, extra
):
    _, headers, _, b_message = two_patients
    theirs = await _send(client, headers, method, template, b_message.id, extra)
    missing = await _send(client, headers, method, template, MISSING_ID, extra)
    assert theirs.status_code == 404
    assert theirs.json()["code"] == "notifications.message_not_found"
    assert _without_id(theirs, b_message.id) == _without_id(missing, MISSING_ID)
    await session.refresh(b_message)
    assert b_message.read_at is None


async def test_lists_hold_only_ones_own(client, session, two_patients):
    a, headers, b_patient, b_message = two_patients
    await make_inbox_message(session, account=a, title="A's message", body="A's message")
    listing = await client.get("/api/patients?include_inactive=true", headers=headers)
    assert [p["name"] for p in listing.json()] == ["张三"]
    inbox = (await client.get("/api/inbox", headers=headers)).json()
    assert (inbox["total"], [m["title"] for m in inbox["items"]]) == (1, ["A's message"])
    for page in ("/patients", "/inbox", "/"):
        html = (await client.get(page)).text
        assert B_NAME not in html and B_MESSAGE not in html, page
        assert f"/patients/{b_patient.id}" not in html and f"/inbox/{b_message.id}/" not in html


async def test_marking_all_read_touches_only_ones_own(client, session, two_patients):
    _, headers, _, b_message = two_patients
    response = await client.post("/api/inbox/read-all", headers=headers)
    assert response.json() == {"marked": 0}
    await session.refresh(b_message)
    assert b_message.read_at is None


@pytest.mark.parametrize(
    "path", ["/api/audit/entries", "/api/audit/entries?patient_id={own}", "/api/audit/verify"]
)
async def test_a_patient_cannot_read_the_audit_log_even_about_their_own(
    client, session, two_patients, path
):
    a, headers, _, _ = two_patients
    own = await session.scalar(select(Patient.id).where(Patient.account_id == a.id))
    response = await client.get(path.format(own=own), headers=headers)
    assert response.status_code == 403
    assert response.json()["code"] == "auth.forbidden"
    assert "items" not in response.json()


@pytest.mark.parametrize(
    "path", ["/api/patients/{id}", "/api/audit/entries?patient_id={id}", "/patients/{id}"]
)
async def test_a_doctor_without_a_relation_cannot_read_patient_data(client, session, clock, path):
    patient = await make_patient(session, name=B_NAME)
    institution = await make_institution(session, clock=clock)
    view = await make_doctor(session, clock=clock, institution=institution)
    account = await doctor_account(session, view=view)
    headers = await bearer(session, clock=clock, account=account)
    await sign_in_as(session, client, account=account, clock=clock)
    theirs = await client.get(path.format(id=patient.id), headers=headers)
    missing = await client.get(path.format(id=MISSING_ID), headers=headers)
    assert theirs.status_code == 403
    assert B_NAME not in theirs.text
    assert _without_id(theirs, patient.id) == _without_id(missing, MISSING_ID)


async def test_a_doctor_of_another_institution_is_not_found_by_an_admin(client, session, clock):
    home = await make_institution(session, clock=clock)
    other = await make_institution(session, clock=clock)
    stranger = await make_doctor(session, clock=clock, institution=other, status="pending")
    admin = await make_account(session, role="institution_admin", institution_id=home.id)
    headers = await auth_headers(session, account=admin)
    for template in ("/api/practitioners/{id}", "/api/practitioners/{id}/reviews"):
        theirs = await client.get(template.format(id=stranger.id), headers=headers)
        missing = await client.get(template.format(id=MISSING_ID), headers=headers)
        assert theirs.status_code == 404, template
        assert _without_id(theirs, stranger.id) == _without_id(missing, MISSING_ID)
    unverified = await client.get(f"/api/doctors/{stranger.id}")
    missing = await client.get(f"/api/doctors/{MISSING_ID}")
    assert unverified.status_code == 404
    assert _without_id(unverified, stranger.id) == _without_id(missing, MISSING_ID)
