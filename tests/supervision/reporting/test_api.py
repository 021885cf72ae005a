"""The regulator's view of the feed over HTTP: lag, counts, last error, rejected records with
their reasons, re-queueing (audited); regulators see their region only; pages in zh-CN and en."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select

from ihospital.audit.models import AuditEntry
from ihospital.core.context import Actor
from ihospital.deps import SESSION_COOKIE
from ihospital.errors import PROBLEM_JSON
from ihospital.identity.sessions import open_session
from ihospital.security.csrf import CSRF_COOKIE, CSRF_HEADER, new_csrf_token
from ihospital.supervision.reporting.platform import make_provincial
from ihospital.supervision.reporting.sandbox import Behaviour
from tests.directory.builders import make_institution
from tests.security.world import BASE_URL
from tests.supervision.reporting.builders import (
    add_records,
    feed,
    received_keys,
    regulator,
    run_worker,
)

REASON = "The institution is not filed with the platform."


async def _rejected_feed(session, session_factory, clock, settings):
    """Two institutions (Beijing and Wuhan) with a record each, both rejected, and one pending."""
    provincial = make_provincial(settings, clock)
    await provincial.sandbox.behave(
        Behaviour(reject_code="institution_unfiled", reject_reason=REASON)
    )
    beijing = await make_institution(session, clock=clock, name="北京测试医院")
    wuhan = await make_institution(
        session, clock=clock, name="武汉测试医院", region_code="420106", region_name="武汉市江汉区"
    )
    [in_beijing] = await add_records(session, clock, beijing, 1)
    await run_worker(session_factory, clock, settings, provincial.platform)
    await provincial.sandbox.behave(Behaviour())
    records = await feed(session)
    return provincial, records, wuhan, in_beijing


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_the_regulator_sees_lag_counts_and_rejections_of_their_region(
    client, session, session_factory, clock, settings
):
    provincial, [record], wuhan, _ = await _rejected_feed(session, session_factory, clock, settings)
    await provincial.sandbox.down_for(timedelta(hours=1))
    [pending] = await add_records(session, clock, wuhan, 1)
    await run_worker(session_factory, clock, settings, provincial.platform)
    clock.advance(timedelta(minutes=2))
    _, beijing_token = await regulator(session, clock, region="110000")
    _, wuhan_token = await regulator(session, clock, region="420100")
    _, admin_token = await regulator(session, clock, role="platform_admin", region=None)
    await session.commit()

    beijing = (
        await client.get("/api/regulator/reporting-feed", headers=_bearer(beijing_token))
    ).json()
    assert (beijing["pending"], beijing["delivered"], beijing["rejected"]) == (0, 0, 1)
    assert beijing["lag_seconds"] is None
    [rejected] = beijing["rejected_records"]
    assert (rejected["id"], rejected["reject_code"], rejected["reject_reason"]) == (
        record.id,
        "institution_unfiled",
        REASON,
    )
    assert "HTTP 503" in beijing["last_error"] and beijing["last_success_at"]

    wuhan_view = (
        await client.get("/api/regulator/reporting-feed", headers=_bearer(wuhan_token))
    ).json()
    assert (wuhan_view["pending"], wuhan_view["rejected"], wuhan_view["rejected_records"]) == (
        1,
        0,
        [],
    )
    assert wuhan_view["lag_seconds"] == 125.0
    admin = (await client.get("/api/regulator/reporting-feed", headers=_bearer(admin_token))).json()
    assert (admin["pending"], admin["rejected"]) == (1, 1)
    reads = await session.scalars(
        select(AuditEntry).where(AuditEntry.action == "reporting.feed_read")
    )
    assert len(list(reads)) == 3


async def test_requeue_sends_the_record_again_and_is_audited(
    client, session, session_factory, clock, settings
):
    provincial, [record], _, _ = await _rejected_feed(session, session_factory, clock, settings)
    account, token = await regulator(session, clock, region="110000")
    await session.commit()

    answer = await client.post(
        f"/api/regulator/reporting-feed/records/{record.id}/requeue", headers=_bearer(token)
    )
    assert answer.status_code == 200 and answer.json()["status"] == "pending"
    entry = await session.scalar(
        select(AuditEntry).where(AuditEntry.action == "reporting.record_requeued")
    )
    assert entry.actor_account_id == account.id and "institution_unfiled" in entry.details
    await run_worker(session_factory, clock, settings, provincial.platform)
    assert await received_keys(provincial) == [record.idempotency_key]

    again = await client.post(
        f"/api/regulator/reporting-feed/records/{record.id}/requeue",
        headers={**_bearer(token), "Accept-Language": "en"},
    )
    assert again.status_code == 409 and again.headers["content-type"].startswith(PROBLEM_JSON)
    assert again.json()["code"] == "reporting.not_rejected"
    assert "only a rejected record can be re-queued" in again.json()["detail"]


async def test_a_regulator_of_another_region_cannot_requeue(
    client, session, session_factory, clock, settings
):
    _, [record], _, _ = await _rejected_feed(session, session_factory, clock, settings)
    _, token = await regulator(session, clock, region="420100")
    await session.commit()
    for record_id in (record.id, 999_999):
        answer = await client.post(
            f"/api/regulator/reporting-feed/records/{record_id}/requeue", headers=_bearer(token)
        )
        assert answer.status_code == 404
        assert answer.json()["code"] == "reporting.record_not_found"
    assert (await feed(session))[0].status == "rejected"


async def test_the_page_shows_the_feed_in_chinese_and_english_and_requeues(
    app, session, session_factory, clock, settings
):
    _, [record], _, _ = await _rejected_feed(session, session_factory, clock, settings)
    account, _ = await regulator(session, clock, region="110000")
    web = await open_session(session, Actor.system(clock), account=account, kind="web", hours=1)
    await session.commit()
    csrf = new_csrf_token(settings.secret_key)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url=BASE_URL,
        cookies={SESSION_COOKIE: web.token, CSRF_COOKIE: csrf},
        headers={CSRF_HEADER: csrf},
    ) as browser:
        chinese = await browser.get("/regulator/reporting-feed")
        assert "数据上报" in chinese.text and REASON in chinese.text
        english = await browser.get("/regulator/reporting-feed", headers={"Accept-Language": "en"})
        assert "Reporting feed" in english.text and "Send again" in english.text
        sent = await browser.post(f"/regulator/reporting-feed/records/{record.id}/requeue")
        assert sent.status_code == 303
        after = await browser.get(sent.headers["location"])
        assert record.idempotency_key in after.text
    assert (await feed(session))[0].status == "pending"
