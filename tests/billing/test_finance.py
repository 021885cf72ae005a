"""Finance (财务) and reconciliation (对账) for institution finance staff: totals by Beijing day,
institution and channel; the runs and their mismatches as each institution may see them;
re-running a past day by hand; the API and who may call it. The books are those of
:mod:`tests.billing.finance_builders`."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from ihospital.audit.models import AuditEntry
from ihospital.billing.checkout import Choice, confirm_checkout
from ihospital.billing.finance import period_of, totals
from ihospital.billing.finance_reconciliation import get_run, list_runs, rerun_reconciliation
from ihospital.billing.reconciliation_models import ReconciliationRun
from ihospital.errors import PROBLEM_JSON, Forbidden, ServiceUnavailable, Unprocessable
from tests.billing.builders import deliver, insurance_sandbox, make_order, new_key, payer, sandbox
from tests.billing.finance_builders import (
    DAY,
    NEXT_DAY,
    STRAY,
    World,
    make_books,
    make_mismatched_day,
    make_world,
    paid,
)
from tests.billing.insurance.builders import make_coverage
from tests.billing.test_checkout import DRUG_A, FOLLOW_UP
from tests.identity.builders import CIPHER, auth_headers, make_account, make_patient


@pytest.fixture
async def world(session, clock) -> World:
    return await make_world(session, clock=clock)


def _figures(row) -> tuple[int, ...]:
    f = row.figures
    return (f.payments_count, f.payments_fen, f.refunds_count, f.refunds_fen, f.net_fen)


# ---- totals -----------------------------------------------------------------------------------


async def test_totals_are_grouped_by_beijing_day_institution_and_channel(session, clock, world):
    await make_books(session, clock, sandbox(clock), world)
    found = await totals(session, world.actor(world.platform), start=DAY, end=NEXT_DAY)
    assert {(r.day, r.institution_id, r.channel): _figures(r) for r in found.rows} == {
        (DAY, world.here.id, "sandbox"): (1, 8900, 0, 0, 8900),
        (DAY, world.there.id, "sandbox"): (1, 8900, 0, 0, 8900),
        # paid out at 16:30 UTC on the 23rd: the 24th in Beijing; a refund alone nets negative
        (NEXT_DAY, world.here.id, "sandbox"): (0, 0, 1, 800, -800),
        (NEXT_DAY, world.there.id, "sandbox"): (1, 8900, 0, 0, 8900),
    }
    assert [row.day for row in found.rows] == sorted(row.day for row in found.rows)
    assert {row.institution_name for row in found.rows} == {world.here.name, world.there.name}
    total = found.total
    assert (total.payments_count, total.payments_fen, total.refunds_fen, total.net_fen) == (
        3,
        26_700,
        800,
        25_900,
    )


async def test_an_institution_admin_reads_only_their_own_institution(session, clock, world):
    await make_books(session, clock, sandbox(clock), world)
    mine = await totals(session, world.actor(world.admin_here), start=DAY, end=NEXT_DAY)
    assert mine.institution_id == world.here.id
    assert {row.institution_id for row in mine.rows} == {world.here.id}
    assert (mine.total.payments_fen, mine.total.refunds_fen, mine.total.net_fen) == (
        8900,
        800,
        8100,
    )
    with pytest.raises(Forbidden):
        await totals(session, world.actor(world.admin_there), institution_id=world.here.id)
    chosen = await totals(
        session, world.actor(world.platform), start=DAY, end=NEXT_DAY, institution_id=world.here.id
    )
    assert [_figures(row) for row in chosen.rows] == [_figures(row) for row in mine.rows]


async def test_the_insured_part_is_counted_on_the_day_the_bill_was_paid(session, clock, world):
    provider = sandbox(clock)
    platform = insurance_sandbox()
    outcomes = []
    # all insured (the personal account pays it), then fund 21 000 + account 10 000 + cash
    for lines, balance in (((FOLLOW_UP,), 100_000), ((FOLLOW_UP, DRUG_A), 10_000)):
        patient = await make_patient(session, clock=clock)
        await make_coverage(session, patient=patient, clock=clock, account_balance_fen=balance)
        order = await make_order(
            session, clock=clock, patient=patient, institution=world.here, lines=lines
        )
        outcomes.append(
            await confirm_checkout(
                session,
                payer(clock, order),
                order_id=order.id,
                choice=Choice(use_insurance=True, use_personal_account=True),
                channel="sandbox",
                idempotency_key=new_key("checkout"),
                providers={"sandbox": provider},
                platform=platform,
                cipher=CIPHER,
            )
        )
    assert outcomes[0].payment is None
    [delivery] = await provider.pay(outcomes[1].payment.pay_url.rsplit("/", 1)[1])
    assert await deliver(session, clock, provider, delivery.body) == "paid"
    found = await totals(session, world.actor(world.admin_here))
    rows = {
        row.channel: (row.figures.payments_fen, row.figures.insured_count, row.figures.insured_fen)
        for row in found.rows
    }
    assert rows == {None: (0, 1, 5_000), "sandbox": (105_000 - 31_000, 1, 31_000)}
    assert found.total.insured_fen == 36_000


@pytest.mark.parametrize(
    ("start", "end", "field", "code"),
    [
        (None, date(2026, 11, 24), "end", "billing.period_in_future"),
        (date(2026, 11, 2), date(2026, 11, 1), "end", "billing.period_reversed"),
        (date(2025, 11, 22), None, "start", "billing.period_too_long"),
        (date(1999, 12, 31), None, "start", "billing.period_too_early"),
        (None, date(1, 1, 1), "end", "billing.period_too_early"),
    ],
)
def test_a_bad_period_is_refused_naming_its_field(start, end, field, code):
    with pytest.raises(Unprocessable) as refused:
        period_of(DAY, start, end)
    assert (refused.value.code, refused.value.fields["field"]) == (code, field)


def test_the_default_period_is_the_last_thirty_days_and_a_year_is_allowed():
    assert period_of(DAY, None, None).start == date(2026, 10, 25)
    assert period_of(DAY, date(2025, 11, 23), None).end == DAY  # 366 days, 2026 not a leap year


async def test_every_read_of_the_figures_is_audited(session, clock, world):
    actor = world.actor(world.admin_here)
    await totals(session, actor)
    await totals(session, actor, export=True)
    await list_runs(session, actor)
    entries = (
        await session.scalars(
            select(AuditEntry.action).where(AuditEntry.actor_account_id == world.admin_here.id)
        )
    ).all()
    assert entries == [
        "billing.finance.read",
        "billing.finance.export",
        "billing.reconciliation.list",
    ]


# ---- reconciliation -----------------------------------------------------------------------------


async def test_each_institution_sees_only_the_mismatches_of_its_bills(session, clock, world):
    provider = sandbox(clock)
    a, b = await make_mismatched_day(session, clock, provider, world)
    providers = {"sandbox": provider}
    everything = await rerun_reconciliation(
        session, world.actor(world.platform), day=DAY, channel="sandbox", providers=providers
    )
    assert (everything.mismatch_count, everything.statement_shown) == (6, True)
    assert everything.run.payments_count == 6

    here = await get_run(session, world.actor(world.admin_here), run_id=everything.run.id)
    assert (here.view.mismatch_count, here.view.statement_shown, here.view.status) == (
        1,
        False,
        "mismatched",
    )
    [mine] = here.mismatches
    assert (mine.mismatch.kind, mine.mismatch.out_trade_no) == ("amount", a.out_trade_no)
    assert (mine.mismatch.provider_amount_fen, mine.mismatch.our_amount_fen) == (8800, 8900)
    assert mine.institution_name == world.here.name and mine.order_number

    there = await get_run(session, world.actor(world.admin_there), run_id=everything.run.id)
    assert [m.mismatch.out_trade_no for m in there.mismatches] == [b.out_trade_no]
    chosen = await get_run(
        session,
        world.actor(world.platform),
        run_id=everything.run.id,
        institution_id=world.there.id,
    )
    assert [m.mismatch.out_trade_no for m in chosen.mismatches] == [b.out_trade_no]
    full = await get_run(session, world.actor(world.platform), run_id=everything.run.id)
    unknown = {m.mismatch.out_trade_no for m in full.mismatches if m.institution_name is None}
    assert unknown == set(STRAY)

    [listed] = (await list_runs(session, world.actor(world.admin_here))).runs
    assert (listed.run.id, listed.mismatch_count, listed.statement_shown) == (
        everything.run.id,
        1,
        False,
    )
    with pytest.raises(Forbidden):
        await get_run(
            session,
            world.actor(world.admin_there),
            run_id=everything.run.id,
            institution_id=world.here.id,
        )


async def test_rerunning_a_day_replaces_its_run_and_today_is_refused(session, clock, world):
    provider = sandbox(clock)
    providers = {"sandbox": provider}
    actor = world.actor(world.admin_here)
    await make_books(session, clock, provider, world)
    first = await rerun_reconciliation(
        session, actor, day=DAY, channel="sandbox", providers=providers
    )
    assert first.status == "matched"
    late = await paid(session, clock, provider, world.here)
    await provider.tamper(late.out_trade_no, amount_fen=1)
    clock.advance(timedelta(days=1))
    again = await rerun_reconciliation(
        session, actor, day=NEXT_DAY, channel="sandbox", providers=providers
    )
    same = await rerun_reconciliation(
        session, actor, day=NEXT_DAY, channel="sandbox", providers=providers
    )
    assert same.run.id == again.run.id and same.mismatch_count == again.mismatch_count == 1
    assert await session.scalar(select(func.count()).select_from(ReconciliationRun)) == 2
    for day in (clock.today_local(), clock.today_local() + timedelta(days=3)):
        with pytest.raises(Unprocessable) as refused:
            await rerun_reconciliation(
                session, actor, day=day, channel="sandbox", providers=providers
            )
        assert refused.value.fields["field"] == "day"


async def test_a_channel_without_its_statement_changes_nothing(session, clock, world):
    provider = sandbox(clock)
    provider.fail_next("statement", "timeout")
    with pytest.raises(ServiceUnavailable):
        await rerun_reconciliation(
            session,
            world.actor(world.platform),
            day=DAY - timedelta(days=1),
            channel="sandbox",
            providers={"sandbox": provider},
        )
    assert await session.scalar(select(func.count()).select_from(ReconciliationRun)) == 0


# ---- API --------------------------------------------------------------------------------------


def _problem(response, status, code, field=None):
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body = response.json()
    assert body["code"] == code
    if field is not None:
        assert body["field"] == field
    return body


async def test_the_api_answers_totals_and_refuses_a_bad_period(app, client, session, clock, world):
    await make_books(session, clock, app.state.payment_providers["sandbox"], world)
    headers = await auth_headers(session, account=world.admin_here, clock=clock)
    url = "/api/billing/finance/totals"
    answer = await client.get(url, params={"start": "2026-11-23"}, headers=headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["start"], body["end"], body["institution_id"]) == (
        "2026-11-23",
        "2026-11-24",
        world.here.id,
    )
    assert [
        (r["day"], r["payments_fen"], r["refunds_fen"], r["net_fen"]) for r in body["rows"]
    ] == [
        ("2026-11-23", 8900, 0, 8900),
        ("2026-11-24", 0, 800, -800),
    ]
    assert body["total"]["net_fen"] == 8100

    bad = await client.get(url, params={"start": "2026-13-01"}, headers=headers)
    assert _problem(bad, 422, "request.invalid", "start")["errors"][0]["field"] == "start"
    long = await client.get(url, params={"start": "2020-01-01"}, headers=headers)
    _problem(long, 422, "billing.period_too_long", "start")
    reversed_ = {"start": "2026-11-20", "end": "2026-11-10"}
    _problem(
        await client.get(url, params=reversed_, headers=headers),
        422,
        "billing.period_reversed",
        "end",
    )

    other = await auth_headers(session, account=world.admin_there, clock=clock)
    theirs = await client.get(url, params={"start": "2026-11-23"}, headers=other)
    assert {row["institution_id"] for row in theirs.json()["rows"]} == {world.there.id}
    peek = await client.get(url, params={"institution_id": world.here.id}, headers=other)
    _problem(peek, 403, "directory.not_your_institution")


@pytest.mark.parametrize("role", ["patient", "doctor", "regulator"])
async def test_patients_doctors_and_regulators_are_refused(client, session, clock, world, role):
    account = await make_account(
        session,
        role=role,
        institution_id=world.here.id if role == "doctor" else None,
        clock=clock,
    )
    headers = await auth_headers(session, account=account, clock=clock)
    for method, url, body in (
        ("GET", "/api/billing/finance/totals", None),
        ("GET", "/api/billing/finance/reconciliations", None),
        ("GET", "/api/billing/finance/reconciliations/1", None),
        ("POST", "/api/billing/finance/reconciliations", {"day": "2026-11-22"}),
    ):
        response = await client.request(method, url, json=body, headers=headers)
        _problem(response, 403, "auth.forbidden")


async def test_the_api_reruns_a_past_day_and_shows_the_run(app, client, session, clock, world):
    provider = app.state.payment_providers["sandbox"]
    a, _ = await make_mismatched_day(session, clock, provider, world)
    headers = await auth_headers(session, account=world.admin_here, clock=clock)
    url = "/api/billing/finance/reconciliations"
    today = await client.post(url, json={"day": "2026-11-24"}, headers=headers)
    _problem(today, 422, "billing.reconciliation_day_not_past", "day")
    ran = await client.post(url, json={"day": "2026-11-23", "channel": "sandbox"}, headers=headers)
    assert ran.status_code == 200, ran.text
    run = ran.json()
    assert (run["day"], run["status"], run["mismatch_count"], run["statement"]) == (
        "2026-11-23",
        "mismatched",
        1,
        None,
    )
    listing = await client.get(url, headers=headers)
    assert [item["id"] for item in listing.json()["runs"]] == [run["id"]]
    detail = (await client.get(f"{url}/{run['id']}", headers=headers)).json()
    [mismatch] = detail["mismatches"]
    assert (mismatch["kind"], mismatch["record"], mismatch["out_trade_no"]) == (
        "amount",
        "payment",
        a.out_trade_no,
    )
    admin = await auth_headers(session, account=world.platform, clock=clock)
    everything = (await client.get(f"{url}/{run['id']}", headers=admin)).json()
    assert everything["statement"]["payments_count"] == 6 and len(everything["mismatches"]) == 6
    missing = await client.get(f"{url}/999999", headers=headers)
    _problem(missing, 404, "billing.reconciliation_not_found")
