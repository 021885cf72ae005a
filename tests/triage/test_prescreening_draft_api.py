"""Questionnaire drafts over the admin API: create, read, update over a revision and publish,
with problem+json naming each field that stands in the way, in the caller's language; nothing
is published until every check passes (issue 8, item 5)."""

from __future__ import annotations

from sqlalchemy import func, select

from ihospital.audit.models import AuditEntry
from ihospital.triage.prescreening.models import ScreeningQuestionnaire
from tests.identity.builders import auth_headers, make_account
from tests.triage.prescreening_builders import make_screener
from tests.triage.test_prescreening_api import _problem

DRAFTS = "/api/admin/prescreening/drafts"
EN = {"Accept-Language": "en"}


async def _admin(session, clock) -> dict[str, str]:
    account = await make_account(session, role="platform_admin", clock=clock)
    return await auth_headers(session, account=account, clock=clock)


async def _versions(session) -> int:
    return await session.scalar(select(func.count()).select_from(ScreeningQuestionnaire))


async def test_a_draft_is_created_updated_and_published(client, session, clock):
    admin = await _admin(session, clock)
    created = await client.post(DRAFTS, json={"source": "current"}, headers=admin)
    assert created.status_code == 201, created.text
    draft = created.json()
    assert draft["revision"] == 1 and draft["problems"] == []
    document = draft["document"]
    assert document["questions"][0]["bands"][0] == {"from": "37.3", "to": "38", "points": "2"}

    document["questions"].append(
        {
            "id": "fever_days",
            "kind": "number",
            "label": {"zh": "发热几天了？", "en": "Days of fever?"},
            "unit": "天",
            "minimum": 0,
            "maximum": 30,
            "bands": [{"from": 3, "points": 2}],
        }
    )
    updated = await client.put(
        f"{DRAFTS}/{draft['id']}", json={"revision": 1, "document": document}, headers=admin
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["revision"] == 2 and updated.json()["problems"] == []
    listed = await client.get(DRAFTS, headers=admin)
    assert [d["id"] for d in listed.json()] == [draft["id"]]

    published = await client.post(
        f"{DRAFTS}/{draft['id']}/publish", json={"revision": 2}, headers=admin
    )
    assert published.status_code == 201, published.text
    body = published.json()
    assert body["status"] == "published" and body["definition"]["questions"][5]["unit"] == "天"
    current = (await client.get("/api/prescreening/questionnaire")).json()
    assert current["id"] == body["id"]
    _problem(
        await client.get(f"{DRAFTS}/{draft['id']}", headers=admin),
        404,
        "prescreening.draft_not_found",
    )


async def test_an_unsound_draft_is_refused_field_by_field_and_publishes_nothing(
    client, session, clock
):
    admin = await _admin(session, clock)
    draft = (await client.post(DRAFTS, json={}, headers=admin)).json()
    document = draft["document"]
    document["questions"][0]["maximum"] = "60"
    document["questions"][1]["options"] = []
    document["levels"][1]["min_score"] = "2"
    saved = await client.put(
        f"{DRAFTS}/{draft['id']}", json={"revision": 1, "document": document}, headers=admin
    )
    fields = [p["field"] for p in saved.json()["problems"]]
    assert fields == [
        "document.questions.0.maximum",
        "document.questions.1.options",
        "document.levels.1.min_score",
    ]
    before = await _versions(session)
    refused = await client.post(
        f"{DRAFTS}/{draft['id']}/publish", json={"revision": 2}, headers=EN | admin
    )
    problem = _problem(refused, 422, "prescreening.draft_invalid")
    assert problem["field"] == "document.questions.0.maximum"
    assert problem["detail"].startswith("The questionnaire has 3 problem(s)")
    assert {
        "field": "document.levels.1.min_score",
        "message": "Scores 2 to 2 belong to two levels.",
    } in problem["errors"]
    assert await _versions(session) == before


async def test_a_stale_revision_is_a_conflict_and_a_malformed_body_a_clear_problem(
    client, session, clock
):
    admin = await _admin(session, clock)
    draft = (await client.post(DRAFTS, json={"source": "blank"}, headers=admin)).json()
    path = f"{DRAFTS}/{draft['id']}"
    await client.put(path, json={"revision": 1, "document": draft["document"]}, headers=admin)
    stale = await client.put(path, json={"revision": 1, "document": {}}, headers=admin)
    assert _problem(stale, 409, "prescreening.draft_stale")["revision"] == 2
    bad_kind = {"questions": [{"kind": "essay"}]}
    malformed = await client.put(path, json={"revision": 2, "document": bad_kind}, headers=admin)
    assert _problem(malformed, 422, "request.invalid")["field"] == "document.questions.0.kind"
    too_long = {"title": {"zh": "长" * 301}}
    assert (
        await client.put(path, json={"revision": 2, "document": too_long}, headers=admin)
    ).status_code == 422
    no_definition = await client.post(DRAFTS, json={"source": "import"}, headers=admin)
    _problem(no_definition, 422, "prescreening.draft_definition_required")
    stale_delete = await client.delete(f"{path}?revision=1", headers=admin)
    _problem(stale_delete, 409, "prescreening.draft_stale")
    deleted = await client.delete(f"{path}?revision=2", headers=admin)
    assert deleted.status_code == 204
    _problem(await client.get(path, headers=admin), 404, "prescreening.draft_not_found")


async def test_only_questionnaire_managers_reach_drafts_and_every_change_is_audited(
    client, session, clock
):
    patient = await make_screener(session, clock)
    _problem(await client.post(DRAFTS, json={}, headers=patient.headers), 403, "auth.forbidden")
    admin = await _admin(session, clock)
    draft = (await client.post(DRAFTS, json={}, headers=admin)).json()
    await client.put(
        f"{DRAFTS}/{draft['id']}",
        json={"revision": 1, "document": draft["document"]},
        headers=admin,
    )
    await client.post(f"{DRAFTS}/{draft['id']}/publish", json={"revision": 2}, headers=admin)
    actions = list(
        await session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.action.like("prescreening.%"))
            .order_by(AuditEntry.id)
        )
    )
    assert actions == [
        "prescreening.draft_start",
        "prescreening.draft_save",
        "prescreening.questionnaire_publish",
        "prescreening.draft_publish",
    ]
