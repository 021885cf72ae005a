"""Running outbox workers: as their own process (``ihospital worker``) or inside the web app
(``ihospital demo``, ``ihospital serve --with-worker``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ihospital.audit.chain import run_sealer
from ihospital.billing.insurance.platform import make_insurance_platform
from ihospital.billing.providers import make_payment_providers
from ihospital.billing.reconciliation_tasks import start_daily_reconciliation
from ihospital.config import Settings
from ihospital.core.clock import Clock
from ihospital.db import make_engine, make_sessionmaker
from ihospital.notifications.senders import make_sms_sender
from ihospital.outbox.service import load_handlers, run_worker
from ihospital.pharmacy.carriers import make_carriers
from ihospital.prescribing.review_statistics import start_review_sweep
from ihospital.realtime.hub import make_hub
from ihospital.security.crypto import FieldCipher
from ihospital.supervision.reporting.platform import make_provincial
from ihospital.supervision.reporting.tasks import start_reporting_tick
from ihospital.supervision.sweep_tasks import start_supervision_sweep


def worker_services(settings: Settings) -> dict[str, Any]:
    """What handlers may ask for with ``worker_service(name)`` in a worker process."""
    return {
        "settings": settings,
        "sms_sender": make_sms_sender(settings),
        "payment_providers": make_payment_providers(settings, Clock()),
        "insurance_platform": make_insurance_platform(settings),
        "carriers": make_carriers(settings, Clock()),
        "cipher": FieldCipher(settings.field_key, settings.blind_index_key),
        "realtime_hub": make_hub(settings),
        "provincial_platform": make_provincial(settings, Clock()).platform,
    }


def app_services(app: FastAPI) -> dict[str, Any]:
    """The same services, taken from the app (so tests' and the demo's sandboxes are used)."""
    return {
        "settings": app.state.settings,
        "sms_sender": app.state.sms_sender,
        "payment_providers": app.state.payment_providers,
        "insurance_platform": app.state.insurance_platform,
        "carriers": app.state.carriers,
        "cipher": app.state.cipher,
        "realtime_hub": app.state.realtime_hub,
        "provincial_platform": app.state.provincial_platform,
    }


async def run_workers(
    factory: async_sessionmaker[AsyncSession],
    clock: Clock,
    settings: Settings,
    *,
    concurrency: int,
    stop: asyncio.Event,
    services: Mapping[str, Any],
    metrics: Any | None = None,
) -> None:
    """``concurrency`` worker loops sharing the outbox until ``stop`` is set, and the audit
    sealer beside them; the daily reconciliation of each payment channel, the sweep of
    prescriptions overdue for review, the reporting feed's tick and the sweep of bulk
    prescription reads (R09) are set first if they are not yet. The sealer is a loop of
    its own, not an outbox timer: it runs every few seconds, which as timers would leave a done
    event row behind every few seconds for ever."""
    load_handlers(settings.worker_modules)
    await start_daily_reconciliation(factory, clock, channels=services["payment_providers"])
    await start_review_sweep(
        factory, clock, every_minutes=settings.prescription_review_sweep_minutes
    )
    await start_reporting_tick(factory, clock, every_minutes=settings.reporting_tick_minutes)
    await start_supervision_sweep(factory, clock)
    await asyncio.gather(
        *(
            run_worker(
                factory,
                clock,
                batch=settings.worker_batch,
                poll_seconds=settings.worker_poll_seconds,
                max_attempts=settings.worker_max_attempts,
                stop=stop,
                services=services,
                metrics=metrics,
            )
            for _ in range(concurrency)
        ),
        run_sealer(factory, clock, stop=stop),
    )


async def run_standalone(settings: Settings, *, concurrency: int, stop: asyncio.Event) -> None:
    """The ``ihospital worker`` process: its own engine, clock and services."""
    engine = make_engine(settings.effective_database_url())
    services = worker_services(settings)
    try:
        await run_workers(
            make_sessionmaker(engine),
            Clock(),
            settings,
            concurrency=concurrency,
            stop=stop,
            services=services,
        )
    finally:
        await services["realtime_hub"].close()
        await engine.dispose()


@asynccontextmanager
async def worker_in_app(app: FastAPI) -> AsyncIterator[None]:
    """Run one worker loop beside the app for its lifetime; its outcomes are counted in
    ``app.state.metrics.outbox_handled``. Handler modules are imported before the app starts,
    so a bad ``worker_modules`` setting stops the start-up."""
    settings: Settings = app.state.settings
    load_handlers(settings.worker_modules)
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_workers(
            app.state.sessionmaker,
            app.state.clock,
            settings,
            concurrency=1,
            stop=stop,
            services=app_services(app),
            metrics=app.state.metrics,
        )
    )
    try:
        yield
    finally:
        stop.set()
        await task
