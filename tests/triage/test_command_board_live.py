"""The command centre's board over /ws/command-centre: a high-risk pre-screening of the centre's
region arrives live once the worker has made the alert, so does each change, and a board that
was away gets what it missed in order; another region's centre hears nothing."""

from __future__ import annotations

from ihospital.core.context import Actor
from ihospital.identity.sessions import open_session
from ihospital.triage.prescreening import alerts
from ihospital.triage.prescreening.screening import submit
from tests.realtime.support import assert_nothing_more, bearer, open_socket, receive, receive_until
from tests.triage.prescreening_builders import (
    HIGH,
    WUHAN_DISTRICT,
    make_commander_account,
    make_screener,
    run_worker,
    submission_body,
)


async def _token(session, clock, account) -> str:
    issued = await open_session(session, Actor.system(clock), account=account, kind="api", hours=1)
    await session.flush()
    return issued.token


async def _high_risk(session, session_factory, clock) -> int:
    me = await make_screener(session, clock)
    body = await submission_body(session, me, HIGH)
    async with session_factory() as other, other.begin():
        actor = Actor(role="patient", clock=clock, account_id=me.account.id)
        outcome = await submit(other, actor, **body)
    return outcome.submission.id


async def test_alerts_and_their_changes_arrive_live_and_resume_in_order(
    app, session, session_factory, clock
):
    wuhan = await make_commander_account(session, clock, region_code="420100")
    beijing = await make_commander_account(session, clock, region_code="110000")
    wuhan_token = await _token(session, clock, wuhan)
    beijing_token = await _token(session, clock, beijing)
    async with (
        open_socket(app, "/ws/command-centre", headers=bearer(wuhan_token)) as board,
        open_socket(app, "/ws/command-centre", headers=bearer(beijing_token)) as elsewhere,
    ):
        assert await receive(board) == {"type": "ready"}
        assert await receive(elsewhere) == {"type": "ready"}
        submission_id = await _high_risk(session, session_factory, clock)
        await run_worker(app, session_factory, clock)
        frame = await receive(board)
        assert frame["type"] == "alert"
        assert frame["alert"]["submission_id"] == submission_id
        assert (frame["alert"]["status"], frame["alert"]["region_code"]) == ("new", WUHAN_DISTRICT)
        first_id = frame["id"]
        await assert_nothing_more(elsewhere)

        actor = Actor(role="regulator", clock=clock, account_id=wuhan.id, region_code="420100")
        async with session_factory() as other, other.begin():
            await alerts.handle_alert(
                other,
                actor,
                alert_id=frame["alert"]["alert_id"],
                status="contacted",
                note="",
                hub=app.state.realtime_hub,
            )
        changed = await receive(board)
        assert changed["alert"]["status"] == "contacted" and changed["id"] > first_id

    resumed = f"/ws/command-centre?after={first_id}"
    async with open_socket(app, resumed, headers=bearer(wuhan_token)) as board:
        frames = await receive_until(board, "ready")
        assert [f["alert"]["status"] for f in frames[:-1]] == ["contacted"]
        await assert_nothing_more(board)
