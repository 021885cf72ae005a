"""A doctor's response-time statistics over the last 7 and 30 Shanghai days: accepted, time to
accept (median, p90), time to the first reply, share within the limit, closed; the doctor's own
consultations only; one query whatever the number of consultations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ihospital.consultation.chat_send import send_message
from ihospital.consultation.statistics import percentile, period_start, response_statistics
from ihospital.consultation.workstation import accept_consultation, close_consultation
from tests.consultation.builders import doctor_actor, make_practice, start
from tests.consultation.chat_builders import headers_of
from tests.directory.builders import doctor_account
from tests.directory.test_search import counted_queries
from tests.identity.builders import make_patient
from tests.web.builders import sign_in_as


def test_periods_start_at_midnight_in_shanghai_today_included():
    before_midnight = datetime(2026, 11, 30, 15, 59, tzinfo=UTC)  # 23:59 on 30 Nov in Shanghai
    after_midnight = datetime(2026, 11, 30, 16, 1, tzinfo=UTC)  # 00:01 on 1 Dec
    assert period_start(before_midnight, 7) == datetime(2026, 11, 23, 16, 0, tzinfo=UTC)
    assert period_start(after_midnight, 7) == datetime(2026, 11, 24, 16, 0, tzinfo=UTC)
    assert period_start(after_midnight, 1) == datetime(2026, 11, 30, 16, 0, tzinfo=UTC)


def test_percentiles_take_the_nearest_rank():
    minutes = [timedelta(minutes=m) for m in (7, 1, 3, 10, 2, 4, 6, 5, 9, 8)]
    assert percentile(minutes, 0.5) == timedelta(minutes=5)
    assert percentile(minutes, 0.9) == timedelta(minutes=9)
    assert percentile(minutes[:1], 0.9) == timedelta(minutes=7)
    assert percentile([], 0.5) is None


async def _consultation(session, clock, practice, *, wait: timedelta, reply: timedelta | None):
    """A consultation that waits ``wait`` before the doctor accepts, answered ``reply`` after."""
    consultation = await start(session, clock, practice, await make_patient(session, clock=clock))
    clock.advance(wait)
    doctor = doctor_actor(clock, practice.doctor)
    await accept_consultation(session, doctor, consultation_id=consultation.id)
    if reply is not None:
        clock.advance(reply)
        await send_message(session, doctor, consultation_id=consultation.id, text="您好", hub=None)
    return consultation


async def _history(session, clock):
    """Over 22 days: one consultation closed three weeks ago (2 h to accept, first reply after
    2.5 h), then this week one accepted in 30 min (reply at 40 min) and one after 26 h (past
    the 24 h limit, no reply); a colleague's and one still waiting are not counted."""
    practice = await make_practice(session, clock=clock, fee_fen=0)
    old = await _consultation(
        session, clock, practice, wait=timedelta(hours=2), reply=timedelta(minutes=30)
    )
    clock.advance(timedelta(minutes=30))
    await close_consultation(
        session, doctor_actor(clock, practice.doctor), consultation_id=old.id, advice="多喝水"
    )
    clock.advance(timedelta(days=20) - timedelta(hours=3))
    await _consultation(
        session, clock, practice, wait=timedelta(minutes=30), reply=timedelta(minutes=10)
    )
    await _consultation(session, clock, practice, wait=timedelta(hours=26), reply=None)
    theirs = await start(session, clock, practice, await make_patient(session, clock=clock))
    theirs.practitioner_id = practice.colleague.id
    await session.flush()
    await accept_consultation(
        session, doctor_actor(clock, practice.colleague), consultation_id=theirs.id
    )
    await start(session, clock, practice, await make_patient(session, clock=clock))
    clock.set(datetime(2026, 12, 15, 1, 0, tzinfo=UTC))  # 09:00 on 15 Dec in Shanghai
    await session.flush()
    return practice


async def test_the_figures_of_the_last_7_and_30_days(session, clock, engine):
    practice = await _history(session, clock)
    with counted_queries(engine) as statements:
        week, month = await response_statistics(session, doctor_actor(clock, practice.doctor))
    assert len(statements) <= 2  # the doctor, then one query for all the figures
    assert week.since == datetime(2026, 12, 8, 16, 0, tzinfo=UTC)
    assert (week.accepted, week.closed, week.within_limit_share) == (2, 0, 0.5)
    assert (week.accept_median, week.accept_p90) == (timedelta(minutes=30), timedelta(hours=26))
    assert week.first_reply_median == timedelta(minutes=40)
    assert (month.accepted, month.closed, month.within_limit_share) == (3, 1, 2 / 3)
    assert (month.accept_median, month.accept_p90) == (timedelta(hours=2), timedelta(hours=26))
    assert month.first_reply_median == timedelta(minutes=40)

    clock.advance(timedelta(days=30))
    later = await response_statistics(session, doctor_actor(clock, practice.doctor))
    assert [(p.accepted, p.accept_median, p.within_limit_share) for p in later] == [
        (0, None, None),
        (0, None, None),
    ]


async def test_the_api_gives_each_doctor_their_own_figures(client, session, clock):
    practice = await _history(session, clock)
    path = "/api/doctor/statistics/response-times"
    mine = await client.get(
        path, headers=await headers_of(session, clock, practice.doctor.account_id)
    )
    assert mine.status_code == 200, mine.text
    week, month = mine.json()
    assert (week["days"], week["accepted"], week["accept_median_seconds"]) == (7, 2, 1800)
    assert (month["accept_p90_seconds"], month["first_reply_median_seconds"]) == (93600, 2400)
    theirs = await client.get(
        path, headers=await headers_of(session, clock, practice.colleague.account_id)
    )
    assert [p["accepted"] for p in theirs.json()] == [1, 1]
    assert theirs.json()[0]["first_reply_median_seconds"] is None


async def test_the_workstation_shows_the_figures(client, session, clock):
    practice = await _history(session, clock)
    account = await doctor_account(session, view=practice.doctor)
    await sign_in_as(session, client, account=account, clock=clock)
    page = await client.get("/doctor/consultations")
    assert page.status_code == 200
    assert "我的接诊响应时间" in page.text and "近 7 天" in page.text and "近 30 天" in page.text
    assert "26 小时 0 分钟" in page.text and "40 分钟" in page.text
    assert "50%" in page.text and "67%" in page.text
