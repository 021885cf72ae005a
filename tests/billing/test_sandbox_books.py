"""Where the sandboxes keep their books: by default an SQLite file each in the data directory,
or every sandbox's tables in ``IHOSPITAL_SANDBOX_DATABASE_URL``. Either way the web app and the
worker built from the same settings see the same trades and settlements."""

from datetime import timedelta

from ihospital.app import create_app
from ihospital.billing.insurance.platform import make_insurance_platform
from ihospital.billing.providers import make_payment_providers
from ihospital.outbox.runner import worker_services
from tests.billing.builders import insurance_sandbox, sandbox
from tests.billing.insurance.builders import settlement_request
from tests.conftest import make_settings


async def _open_trade(provider, clock) -> None:
    await provider.create(
        out_trade_no="P1",
        amount_fen=8900,
        description="挂号费",
        expires_at=clock.now() + timedelta(minutes=15),
    )


async def test_by_default_each_sandbox_keeps_its_books_in_a_file_of_the_data_dir(settings, clock):
    await _open_trade(make_payment_providers(settings, clock)["sandbox"], clock)
    await make_insurance_platform(settings).settle(settlement_request())
    assert {path.name for path in settings.data_dir.glob("*-sandbox.db")} == {
        "payment-sandbox.db",
        "insurance-sandbox.db",
    }
    # a restarted process finds them there
    restarted = make_payment_providers(settings, clock)["sandbox"]
    assert (await restarted.query(out_trade_no="P1")).state == "NOTPAY"
    found = await make_insurance_platform(settings).query(settlement_no="YB1")
    assert found is not None and found.state == "settled"


async def test_the_web_app_and_the_worker_share_the_books_in_the_configured_database(
    tmp_path, clock, engine, books_url
):
    settings = make_settings(tmp_path, sandbox_database_url=books_url)
    app = create_app(settings, clock=clock, engine=engine)
    worker = worker_services(settings)
    await _open_trade(app.state.payment_providers["sandbox"], clock)
    settled = await app.state.insurance_platform.settle(settlement_request())
    assert (await worker["payment_providers"]["sandbox"].query(out_trade_no="P1")).state == (
        "NOTPAY"
    )
    assert await worker["insurance_platform"].query(settlement_no="YB1") == settled
    await worker["insurance_platform"].reverse(settlement_no="YB1")
    assert (await app.state.insurance_platform.query(settlement_no="YB1")).state == "reversed"
    # both sandboxes' tables are in that one database, and nothing is in the data directory
    assert (await sandbox(clock, database_url=books_url).query(out_trade_no="P1")).amount_fen == (
        8900
    )
    found = await insurance_sandbox(database_url=books_url).query(settlement_no="YB1")
    assert found is not None and found.state == "reversed"
    assert not list(tmp_path.glob("*.db"))
