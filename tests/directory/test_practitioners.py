"""Doctors (执业医师): registration by their institution, the doctor's own profile, corrections by
the institution, and who may touch whose record."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from ihospital.directory.models import CredentialReview, Practitioner
from ihospital.directory.practitioners import list_practitioners, update_practitioner
from ihospital.errors import Conflict
from ihospital.identity.models import Account
from tests.directory.builders import (
    PASSWORD,
    bearer,
    doctor_account,
    make_doctor,
    make_institution,
    make_staff,
    new_licence_number,
    new_mobile,
    system,
)
from tests.directory.support import audit_trail, headers_of
from tests.identity.builders import csrf_token
from tests.security.test_bad_input import LANGUAGES, counts, headers_in
from tests.web.builders import sign_in_as


def new_doctor(**changes: object) -> dict[str, object]:
    """The body of a new doctor, with ``changes``."""
    body = {
        "name": "张三丰",
        "sex": "male",
        "mobile": new_mobile(),
        "password": PASSWORD,
        "licence_number": new_licence_number(),
        "title": "主治医师",
        "practice_start_date": "2015-07-01",
        "department_code": "03.04",
        "specialties": "冠心病、高血压",
        "introduction": "从事心血管内科临床工作二十年。",
        "photo_url": "https://img.example.cn/doctors/zsf.jpg",
    }
    return body | changes


async def test_an_admin_registers_a_doctor_as_a_draft_with_an_account(
    session, clock, client
) -> None:
    institution = await make_institution(session, clock=clock)
    headers = await headers_of(
        session, clock=clock, role="institution_admin", institution=institution
    )
    body = new_doctor()

    response = await client.post(
        f"/api/institutions/{institution.id}/practitioners", json=body, headers=headers
    )

    assert response.status_code == 201, response.text
    doctor = response.json()
    assert {key: doctor[key] for key in ("name", "licence_number", "title", "photo_url")} == {
        key: body[key] for key in ("name", "licence_number", "title", "photo_url")
    }
    assert (doctor["name_pinyin"], doctor["name_initials"]) == ("zhangsanfeng", "zsf")
    assert (doctor["verification_status"], doctor["verified_at"]) == ("draft", None)
    assert (doctor["years_of_practice"], doctor["online_available"]) == (11, False)
    [site] = doctor["sites"]
    assert (site["institution"]["id"], site["department"]["code"], site["is_primary"]) == (
        institution.id,
        "03.04",
        True,
    )
    account = await session.get(Account, doctor["account_id"])
    assert (account.role, account.institution_id, account.mobile) == (
        "doctor",
        institution.id,
        body["mobile"],
    )
    [(action, details)] = await audit_trail(session, "practitioner", doctor["id"])
    assert action == "practitioner.create"
    assert details["licence_number"] == body["licence_number"]
    assert details["sites"] == [
        {
            "institution_id": institution.id,
            "department_code": "03.04",
            "primary": True,
            "filing_number": "",
            "consent_on_file": False,
        }
    ]
    unpublished = await client.get(f"/api/doctors/{doctor['id']}")
    assert unpublished.status_code == 404


BAD_DOCTORS = [
    ({"name": "<script>alert(1)</script>"}, "name", "request.invalid", 422),
    ({"name": "Robert'); DROP TABLE practitioners;--"}, "name", "request.invalid", 422),
    ({"name": "张" * 33}, "name", "request.invalid", 422),
    ({"verification_status": "verified"}, "verification_status", "request.invalid", 422),
    ({"title": "教授"}, "title", "request.invalid", 422),
    ({"sex": "unknown"}, "sex", "request.invalid", 422),
    ({"licence_number": "12345"}, "licence_number", "request.invalid", 422),
    ({"mobile": "1380013800"}, "mobile", "request.invalid", 422),
    ({"photo_url": "http://img.example.cn/a.jpg"}, "photo_url", "request.invalid", 422),
    ({"photo_url": "javascript:alert(1)"}, "photo_url", "request.invalid", 422),
    ({"department_code": "99.99"}, "department_code", "directory.department_unknown", 422),
    ({"department_code": "10"}, "department_code", "directory.department_not_run", 422),
    (
        {"practice_start_date": "2026-11-24"},
        "practice_start_date",
        "directory.practice_start_invalid",
        422,
    ),
    (
        {"practice_start_date": "1949-12-31"},
        "practice_start_date",
        "directory.practice_start_invalid",
        422,
    ),
    (
        {"practice_sites": [{"institution_id": 2**63, "department_code": "03"}]},
        "practice_sites.0.institution_id",
        "request.invalid",
        422,
    ),
]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(("change", "field", "code", "status"), BAD_DOCTORS)
async def test_a_bad_doctor_is_a_problem_naming_the_field_and_changes_nothing(
    session, clock, client, language, change, field, code, status
) -> None:
    institution = await make_institution(session, clock=clock)
    headers = headers_in(
        language,
        await headers_of(session, clock=clock, role="institution_admin", institution=institution),
    )
    before = await counts(session)

    response = await client.post(
        f"/api/institutions/{institution.id}/practitioners",
        json=new_doctor(**change),
        headers=headers,
    )

    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert (problem["code"], problem["field"]) == (code, field)
    assert problem["title"] == ("Invalid input" if language == "en" else "输入有误")
    assert await counts(session) == before


@pytest.mark.parametrize(
    ("taken", "code"),
    [("licence_number", "directory.licence_taken"), ("mobile", "identity.mobile_taken")],
)
async def test_a_taken_licence_or_mobile_is_a_409_and_changes_nothing(
    session, clock, client, taken, code
) -> None:
    institution = await make_institution(session, clock=clock)
    headers = await headers_of(session, clock=clock, role="platform_admin")
    url = f"/api/institutions/{institution.id}/practitioners"
    first = new_doctor()
    assert (await client.post(url, json=first, headers=headers)).status_code == 201
    before = await counts(session)

    response = await client.post(url, json=new_doctor(**{taken: first[taken]}), headers=headers)

    assert (response.status_code, response.json()["code"]) == (409, code)
    assert await counts(session) == before


async def test_the_admin_of_another_institution_cannot_register_or_touch_its_doctors(
    session, clock, client
) -> None:
    home = await make_institution(session, clock=clock)
    other = await make_institution(session, clock=clock)
    doctor = await make_doctor(session, clock=clock, institution=home, status="pending")
    headers = await headers_of(session, clock=clock, role="institution_admin", institution=other)
    before = await counts(session)

    created = await client.post(
        f"/api/institutions/{home.id}/practitioners", json=new_doctor(), headers=headers
    )
    listed = await client.get(f"/api/institutions/{home.id}/practitioners", headers=headers)
    calls = [
        ("PATCH", f"/api/practitioners/{doctor.id}", {"title": "主任医师"}),
        ("PUT", f"/api/practitioners/{doctor.id}/sites", {"department_code": "03"}),
        ("POST", f"/api/practitioners/{doctor.id}/submission", None),
        ("POST", f"/api/practitioners/{doctor.id}/reviews", {"decision": "verify"}),
    ]
    touched = [
        await client.request(method, path, json=body, headers=headers)
        for method, path, body in calls
    ]

    assert (created.status_code, created.json()["code"]) == (403, "directory.not_your_institution")
    assert (listed.status_code, listed.json()["code"]) == (403, "directory.not_your_institution")
    for response in touched:
        assert (response.status_code, response.json()["code"]) == (
            404,
            "directory.practitioner_not_found",
        )
    assert await counts(session) == before
    record = await session.get(Practitioner, doctor.id)
    await session.refresh(record)
    assert (record.verification_status, record.title) == ("pending", "主治医师")


async def test_the_doctor_edits_their_own_profile_and_it_is_audited(session, clock, client) -> None:
    institution = await make_institution(session, clock=clock)
    doctor = await make_doctor(session, clock=clock, institution=institution)
    headers = await bearer(session, clock=clock, account=await doctor_account(session, view=doctor))
    trail = await audit_trail(session, "practitioner", doctor.id)

    changed = await client.patch(
        "/api/practitioners/me",
        json={"introduction": "擅长心律失常的诊治。\n每周二出诊。", "photo_url": ""},
        headers=headers,
    )
    same = await client.patch("/api/practitioners/me", json={"photo_url": ""}, headers=headers)
    mine = await client.get("/api/practitioners/me", headers=headers)

    assert changed.status_code == 200, changed.text
    assert same.status_code == 200
    assert mine.json()["introduction"] == "擅长心律失常的诊治。\n每周二出诊。"
    assert mine.json()["verification_status"] == "verified"
    assert (await audit_trail(session, "practitioner", doctor.id))[len(trail) :] == [
        (
            "practitioner.profile_update",
            {"introduction": ["从事心血管内科临床工作。", "擅长心律失常的诊治。\n每周二出诊。"]},
        )
    ]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "主任医师"}, "title"),
        ({"verification_status": "verified"}, "verification_status"),
        ({"licence_number": "110000000000001"}, "licence_number"),
        ({"introduction": "a\x00b"}, "introduction"),
        ({"specialties": "心" * 513}, "specialties"),
        ({"photo_url": 'https://x.cn/a.jpg" onerror="alert(1)'}, "photo_url"),
        ({"introduction": None}, "introduction"),
    ],
)
async def test_the_doctor_cannot_change_credentials_or_send_bad_text(
    session, clock, client, language, body, field
) -> None:
    institution = await make_institution(session, clock=clock)
    doctor = await make_doctor(session, clock=clock, institution=institution)
    account = await doctor_account(session, view=doctor)
    headers = headers_in(language, await bearer(session, clock=clock, account=account))
    before = await counts(session)

    response = await client.patch("/api/practitioners/me", json=body, headers=headers)

    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert (response.json()["code"], response.json()["field"]) == ("request.invalid", field)
    assert await counts(session) == before


async def test_only_a_doctor_with_a_record_has_a_profile(session, clock, client) -> None:
    institution = await make_institution(session, clock=clock)
    without = await headers_of(session, clock=clock, role="doctor", institution=institution)
    patient = await headers_of(session, clock=clock, role="patient")

    missing = await client.get("/api/practitioners/me", headers=without)
    not_a_doctor = await client.patch(
        "/api/practitioners/me", json={"introduction": "x"}, headers=patient
    )
    anonymous = await client.get("/api/practitioners/me")

    assert (missing.status_code, missing.json()["code"]) == (
        404,
        "directory.no_practitioner_record",
    )
    assert (not_a_doctor.status_code, not_a_doctor.json()["code"]) == (403, "auth.forbidden")
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "auth.required")


async def test_changed_credentials_send_a_verified_doctor_back_to_review(
    session, clock, client
) -> None:
    institution = await make_institution(session, clock=clock)
    doctor = await make_doctor(session, clock=clock, institution=institution)
    headers = await headers_of(
        session, clock=clock, role="institution_admin", institution=institution
    )
    url = f"/api/practitioners/{doctor.id}"

    profile_only = await client.patch(url, json={"specialties": "心力衰竭"}, headers=headers)
    renamed = await client.patch(url, json={"name": "李四", "title": "副主任医师"}, headers=headers)
    locked = await client.patch(url, json={"title": "主任医师"}, headers=headers)
    public = await client.get(f"/api/doctors/{doctor.id}")

    assert profile_only.json()["verification_status"] == "verified"
    assert renamed.status_code == 200, renamed.text
    assert (renamed.json()["verification_status"], renamed.json()["online_available"]) == (
        "pending",
        False,
    )
    assert (renamed.json()["name_pinyin"], renamed.json()["name_initials"]) == ("lisi", "ls")
    assert (locked.status_code, locked.json()["code"]) == (409, "directory.credentials_locked")
    assert public.status_code == 404
    steps = (
        await session.scalars(
            select(CredentialReview.decision)
            .where(CredentialReview.practitioner_id == doctor.id)
            .order_by(CredentialReview.id)
        )
    ).all()
    assert steps == ["submit", "verify", "revise"]
    actions = [action for action, _ in await audit_trail(session, "practitioner", doctor.id)]
    assert actions[-3:] == [
        "practitioner.update",
        "practitioner.update",
        "practitioner.review.revise",
    ]
    assert (await audit_trail(session, "practitioner", doctor.id))[-2][1] == {
        "name": ["张三丰", "李四"],
        "title": ["主治医师", "副主任医师"],
    }


async def test_a_suspended_doctors_credentials_are_locked(session, clock) -> None:
    institution = await make_institution(session, clock=clock)
    doctor = await make_doctor(session, clock=clock, institution=institution, status="suspended")

    with pytest.raises(Conflict) as refused:
        await update_practitioner(
            session,
            system(clock),
            practitioner_id=doctor.id,
            changes={"practice_start_date": date(2010, 1, 1)},
        )

    assert refused.value.fields["verification_status"] == "suspended"


async def test_the_institution_lists_its_doctors_by_status_in_pages(session, clock, client) -> None:
    institution = await make_institution(session, clock=clock)
    other = await make_institution(session, clock=clock)
    await make_doctor(session, clock=clock, institution=other)
    for name, status in [("王五", "verified"), ("安八", "pending"), ("李四", "verified")]:
        await make_doctor(session, clock=clock, institution=institution, name=name, status=status)
    headers = await headers_of(
        session, clock=clock, role="institution_admin", institution=institution
    )
    url = f"/api/institutions/{institution.id}/practitioners"

    everyone = (await client.get(url, headers=headers)).json()
    verified = (await client.get(url, params={"status": "verified"}, headers=headers)).json()
    second = (await client.get(url, params={"page": 2, "page_size": 2}, headers=headers)).json()
    bogus = await client.get(url, params={"status": "bogus"}, headers=headers)

    assert [item["name"] for item in everyone["items"]] == ["安八", "李四", "王五"]
    assert (verified["total"], [item["name"] for item in verified["items"]]) == (
        2,
        ["李四", "王五"],
    )
    assert (second["total"], [item["name"] for item in second["items"]]) == (3, ["王五"])
    assert (bogus.status_code, bogus.json()["field"]) == (422, "status")
    service = await list_practitioners(
        session, system(clock), institution_id=institution.id, status="pending"
    )
    assert [view.name for view in service.items] == ["安八"]


# ---- the doctor's profile page and the admin's doctors page -----------------------------------


async def test_the_doctor_saves_the_profile_page_and_submits_for_review(
    session, clock, client
) -> None:
    institution = await make_institution(session, clock=clock)
    doctor = await make_doctor(session, clock=clock, institution=institution, status="draft")
    await sign_in_as(
        session, client, account=await doctor_account(session, view=doctor), clock=clock
    )
    token = await csrf_token(client)
    form = {"csrf_token": token, "specialties": "冠心病", "introduction": "每周二出诊。"}

    page = await client.get("/doctor/profile")
    bad = await client.post("/doctor/profile", data=form | {"photo_url": "http://x.cn/a.jpg"})
    saved = await client.post("/doctor/profile", data=form | {"photo_url": ""})
    submitted = await client.post("/doctor/profile/submission", data={"csrf_token": token})

    assert page.status_code == 200 and doctor.licence_number in page.text
    assert bad.status_code == 422 and 'id="error-photo_url"' in bad.text
    assert (saved.status_code, saved.headers["location"]) == (303, "/doctor/profile")
    assert submitted.status_code == 303
    record = await session.get(Practitioner, doctor.id)
    await session.refresh(record)
    assert (record.introduction, record.verification_status) == ("每周二出诊。", "pending")


async def test_the_admin_adds_and_reviews_doctors_on_the_doctors_page(
    session, clock, client
) -> None:
    institution = await make_institution(session, clock=clock)
    other = await make_institution(session, clock=clock)
    admin = await make_staff(
        session, clock=clock, institution=institution, role="institution_admin"
    )
    await sign_in_as(session, client, account=admin, clock=clock)
    token = await csrf_token(client)
    body = new_doctor(name="王建华", csrf_token=token)
    del body["photo_url"]

    bad = await client.post("/admin/doctors", data=body | {"licence_number": "123"})
    added = await client.post("/admin/doctors", data=body)
    [doctor] = (
        await session.scalars(
            select(Practitioner).where(Practitioner.institution_id == institution.id)
        )
    ).all()
    action = f"/admin/doctors/{doctor.id}"
    await client.post(f"{action}/submission", data={"csrf_token": token})
    no_reason = await client.post(
        f"{action}/review", data={"csrf_token": token, "decision": "reject", "note": ""}
    )
    verified = await client.post(
        f"{action}/review", data={"csrf_token": token, "decision": "verify"}
    )
    listing = await client.get("/admin/doctors", params={"status": "verified"})
    elsewhere = await client.get("/admin/doctors", params={"institution_id": other.id})

    assert bad.status_code == 422 and 'id="error-licence_number"' in bad.text
    assert (added.status_code, added.headers["location"]) == (303, "/admin/doctors")
    assert no_reason.status_code == 303
    assert verified.status_code == 303
    await session.refresh(doctor)
    assert doctor.verification_status == "verified"
    assert "王建华" in listing.text
    assert elsewhere.status_code == 403
    decisions = (
        await session.scalars(
            select(CredentialReview.decision).where(CredentialReview.practitioner_id == doctor.id)
        )
    ).all()
    assert sorted(decisions) == ["submit", "verify"]
