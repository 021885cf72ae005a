"""Credential review (资质审核): draft → pending → verified / rejected, suspend and reinstate."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from ihospital.audit.models import AuditEntry
from ihospital.directory.credentials import decide_review, submit_for_review
from ihospital.directory.models import CredentialReview
from ihospital.directory.search import search_doctors
from ihospital.errors import Conflict, Unprocessable
from tests.directory.builders import (
    bearer,
    doctor_account,
    make_doctor,
    make_institution,
    make_staff,
    system,
)


async def _admin_headers(session, clock, institution) -> dict[str, str]:  # noqa: ANN001
    admin = await make_staff(
        session, clock=clock, institution=institution, role="institution_admin"
    )
    return await bearer(session, clock=clock, account=admin)


async def _reviews(session, practitioner_id: int) -> list[CredentialReview]:  # noqa: ANN001
    return list(
        (
            await session.scalars(
                select(CredentialReview)
                .where(CredentialReview.practitioner_id == practitioner_id)
                .order_by(CredentialReview.id)
            )
        ).all()
    )


async def _audit(session, practitioner_id: int) -> list[AuditEntry]:  # noqa: ANN001
    return list(
        (
            await session.scalars(
                select(AuditEntry)
                .where(
                    AuditEntry.subject_type == "practitioner",
                    AuditEntry.subject_id == str(practitioner_id),
                    AuditEntry.action.startswith("practitioner.review."),
                )
                .order_by(AuditEntry.id)
            )
        ).all()
    )


async def test_draft_is_submitted_and_verified_through_the_api(session, clock, client) -> None:
    institution = await make_institution(session, clock=clock)
    headers = await _admin_headers(session, clock, institution)
    draft = await make_doctor(session, clock=clock, institution=institution, status="draft")

    submitted = await client.post(f"/api/practitioners/{draft.id}/submission", headers=headers)
    verified = await client.post(
        f"/api/practitioners/{draft.id}/reviews", json={"decision": "verify"}, headers=headers
    )
    history = await client.get(f"/api/practitioners/{draft.id}/reviews", headers=headers)
    public = await client.get(f"/api/doctors/{draft.id}")

    assert submitted.json()["verification_status"] == "pending"
    assert verified.status_code == 200
    assert verified.json()["verification_status"] == "verified"
    assert verified.json()["verified_at"] is not None
    assert [
        (step["decision"], step["from_status"], step["to_status"]) for step in history.json()
    ] == [
        ("submit", "draft", "pending"),
        ("verify", "pending", "verified"),
    ]
    assert {step["reviewer_role"] for step in history.json()} == {"institution_admin"}
    assert public.status_code == 200


async def test_the_doctor_submits_their_own_record(session, clock, client) -> None:
    institution = await make_institution(session, clock=clock)
    draft = await make_doctor(session, clock=clock, institution=institution, status="draft")
    headers = await bearer(session, clock=clock, account=await doctor_account(session, view=draft))

    response = await client.post("/api/practitioners/me/submission", headers=headers)

    assert response.status_code == 200
    assert response.json()["verification_status"] == "pending"
    [step] = await _reviews(session, draft.id)
    assert (step.decision, step.reviewer_account_id) == ("submit", draft.account_id)


async def test_reject_needs_a_reason_and_the_doctor_may_submit_again(
    session, clock, client
) -> None:
    institution = await make_institution(session, clock=clock)
    headers = await _admin_headers(session, clock, institution)
    pending = await make_doctor(session, clock=clock, institution=institution, status="pending")
    url = f"/api/practitioners/{pending.id}/reviews"

    no_reason = await client.post(url, json={"decision": "reject", "note": "  "}, headers=headers)
    rejected = await client.post(
        url, json={"decision": "reject", "note": "执业证书照片不清晰"}, headers=headers
    )
    doctor = await bearer(session, clock=clock, account=await doctor_account(session, view=pending))
    seen_by_doctor = await client.get("/api/practitioners/me", headers=doctor)
    again = await client.post("/api/practitioners/me/submission", headers=doctor)

    assert no_reason.status_code == 422
    assert no_reason.json()["field"] == "note"
    assert rejected.json()["verification_status"] == "rejected"
    assert seen_by_doctor.json()["verification_note"] == "执业证书照片不清晰"
    assert again.json()["verification_status"] == "pending"
    assert [step.decision for step in await _reviews(session, pending.id)] == [
        "submit",
        "reject",
        "submit",
    ]


async def test_suspend_needs_a_reason_and_reinstate_restores_the_listing(session, clock) -> None:
    institution = await make_institution(session, clock=clock)
    doctor = await make_doctor(session, clock=clock, institution=institution)
    actor = system(clock)

    async def listed() -> bool:
        result = await search_doctors(session, actor, institution_id=institution.id)
        return [view.id for view in result.items] == [doctor.id]

    with pytest.raises(Unprocessable) as no_reason:
        await decide_review(session, actor, practitioner_id=doctor.id, decision="suspend")
    assert no_reason.value.fields["field"] == "note"

    suspended = await decide_review(
        session, actor, practitioner_id=doctor.id, decision="suspend", note="暂停执业"
    )
    assert (suspended.verification_status, suspended.online_available) == ("suspended", False)
    assert not await listed()

    reinstated = await decide_review(
        session, actor, practitioner_id=doctor.id, decision="reinstate"
    )
    assert (reinstated.verification_status, reinstated.online_available) == ("verified", True)
    assert await listed()


@pytest.mark.parametrize(
    ("status", "decision"),
    [
        ("draft", "verify"),
        ("draft", "reject"),
        ("draft", "suspend"),
        ("pending", "suspend"),
        ("pending", "reinstate"),
        ("verified", "verify"),
        ("verified", "reject"),
        ("verified", "reinstate"),
        ("rejected", "verify"),
        ("suspended", "verify"),
        ("suspended", "suspend"),
    ],
)
async def test_a_step_not_allowed_from_the_status_is_a_409_problem(
    session, clock, client, status, decision
) -> None:
    institution = await make_institution(session, clock=clock)
    headers = await _admin_headers(session, clock, institution)
    doctor = await make_doctor(session, clock=clock, institution=institution, status=status)
    before = len(await _reviews(session, doctor.id))

    response = await client.post(
        f"/api/practitioners/{doctor.id}/reviews",
        json={"decision": decision, "note": "理由"},
        headers=headers,
    )

    assert response.status_code == 409
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == "directory.review_step_not_possible"
    assert (problem["verification_status"], problem["decision"]) == (status, decision)
    assert len(await _reviews(session, doctor.id)) == before


@pytest.mark.parametrize("status", ["pending", "verified", "suspended"])
async def test_only_a_draft_or_rejected_record_can_be_submitted(session, clock, status) -> None:
    institution = await make_institution(session, clock=clock)
    doctor = await make_doctor(session, clock=clock, institution=institution, status=status)

    with pytest.raises(Conflict):
        await submit_for_review(session, system(clock), practitioner_id=doctor.id)


async def test_every_step_writes_a_review_row_and_an_audit_entry(session, clock) -> None:
    institution = await make_institution(session, clock=clock)
    doctor = await make_doctor(session, clock=clock, institution=institution, status="draft")
    actor = system(clock)
    steps = [("verify", ""), ("suspend", "停诊调查"), ("reinstate", "")]

    await submit_for_review(session, actor, practitioner_id=doctor.id)
    for decision, note in steps:
        await decide_review(session, actor, practitioner_id=doctor.id, decision=decision, note=note)

    reviews = await _reviews(session, doctor.id)
    audit = await _audit(session, doctor.id)
    expected = [
        ("submit", "draft", "pending", ""),
        ("verify", "pending", "verified", ""),
        ("suspend", "verified", "suspended", "停诊调查"),
        ("reinstate", "suspended", "verified", ""),
    ]
    assert [(r.decision, r.from_status, r.to_status, r.note) for r in reviews] == expected
    assert {review.reviewer_role for review in reviews} == {"system"}
    assert [entry.action for entry in audit] == [
        f"practitioner.review.{decision}" for decision, *_ in expected
    ]
    assert [json.loads(entry.details) for entry in audit] == [
        {"from": before, "to": after, "note": note} for _, before, after, note in expected
    ]
