"""create_app(): settings, database, routers, middleware, templates and error handlers."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager, nullcontext
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy.ext.asyncio import AsyncEngine

from ihospital.booking.admission import FULL_SLOTS, Admission
from ihospital.config import Settings, get_settings
from ihospital.core.clock import Clock
from ihospital.core.middleware import RequestContextMiddleware
from ihospital.core.observability import Metrics
from ihospital.core.problems import install_error_handlers
from ihospital.core.ratelimit import make_rate_limiter
from ihospital.db import make_engine, make_sessionmaker, pool_size
from ihospital.outbox.runner import worker_in_app
from ihospital.realtime.hub import make_hub
from ihospital.realtime.socket import Heartbeat
from ihospital.security.crypto import FieldCipher
from ihospital.triage.knowledge import load_knowledge
from ihospital.web.errors import page_refusal
from ihospital.web.templating import STATIC_DIR, make_templates


def _routers() -> list[Any]:
    from ihospital.audit import api as audit_api
    from ihospital.billing import api as billing_api
    from ihospital.billing import finance_api, finance_pages
    from ihospital.billing import pages as billing_pages
    from ihospital.billing.insurance import api as insurance_api
    from ihospital.billing.insurance import pages as insurance_pages
    from ihospital.booking import api as booking_api
    from ihospital.booking import (
        dayof_api,
        dayof_pages,
        own_schedule_pages,
        reschedule_pages,
        resources_api,
        service_admin_pages,
        service_day_pages,
        service_pages,
        suspension_pages,
        waitlist_pages,
    )
    from ihospital.booking import pages as booking_pages
    from ihospital.booking.fairness import api as booking_fairness_api
    from ihospital.booking.fairness import pages as booking_fairness_pages
    from ihospital.consultation import api as consultation_api
    from ihospital.consultation import (
        call_api,
        chat_api,
        chat_pages,
        chat_socket,
        department_pages,
        duty_api,
        duty_pages,
        record_pages,
        video_pages,
    )
    from ihospital.consultation import doctor_pages as consultation_doctor_pages
    from ihospital.consultation import pages as consultation_pages
    from ihospital.consultation import patient_pages as consultation_patient_pages
    from ihospital.consultation.campaigns import admin_pages as campaigns_admin_pages
    from ihospital.consultation.campaigns import api as campaigns_api
    from ihospital.consultation.campaigns import pages as campaigns_pages
    from ihospital.consultation.records import api as records_api
    from ihospital.consultation.reviews import api as reviews_api
    from ihospital.consultation.reviews import pages as reviews_pages
    from ihospital.directory import api as directory_api
    from ihospital.directory import pages as directory_pages
    from ihospital.files import api as files_api
    from ihospital.identity import api as identity_api
    from ihospital.identity import pages as identity_pages
    from ihospital.notifications import api as notifications_api
    from ihospital.notifications import live as notifications_live
    from ihospital.notifications import pages as notifications_pages
    from ihospital.outbox import api as outbox_api
    from ihospital.pharmacy import admin_pages as pharmacy_admin_pages
    from ihospital.pharmacy import api as pharmacy_api
    from ihospital.pharmacy import delivery_pages, returns_api, shipment_api
    from ihospital.pharmacy import pages as pharmacy_pages
    from ihospital.pharmacy import stock_pages as pharmacy_stock_pages
    from ihospital.prescribing import api as prescribing_api
    from ihospital.prescribing import (
        catalogue_api,
        catalogue_pages,
        verification_api,
        verification_pages,
    )
    from ihospital.prescribing import pages as prescribing_pages
    from ihospital.prescribing import patient_api as prescription_patient_api
    from ihospital.prescribing import patient_pages as prescription_patient_pages
    from ihospital.prescribing import review_api as prescription_review_api
    from ihospital.prescribing import review_pages as prescription_review_pages
    from ihospital.prescribing import visit_pages as prescription_visit_pages
    from ihospital.supervision import api as supervision_api
    from ihospital.supervision import dashboard_api, dashboard_pages
    from ihospital.supervision import incident_pages as supervision_incident_pages
    from ihospital.supervision import pages as supervision_pages
    from ihospital.supervision.reporting import api as reporting_api
    from ihospital.supervision.reporting import pages as reporting_pages
    from ihospital.supervision.traceability import api as traceability_api
    from ihospital.supervision.traceability import pages as traceability_pages
    from ihospital.triage import api as triage_api
    from ihospital.triage import pages as triage_pages
    from ihospital.triage.prescreening import admin_pages as prescreening_admin_pages
    from ihospital.triage.prescreening import api as prescreening_api
    from ihospital.triage.prescreening import board_socket
    from ihospital.triage.prescreening import draft_pages as prescreening_draft_pages
    from ihospital.triage.prescreening import pages as prescreening_pages
    from ihospital.web import ops, pages

    return [
        ops.router,
        identity_api.router,
        directory_api.router,
        notifications_api.router,
        notifications_live.router,
        audit_api.router,
        outbox_api.router,
        billing_api.router,
        finance_api.router,
        insurance_api.router,
        booking_api.router,
        dayof_api.router,
        booking_fairness_api.router,
        resources_api.router,
        consultation_api.router,
        campaigns_api.router,
        chat_api.router,
        duty_api.router,
        chat_socket.router,
        call_api.router,
        records_api.router,
        reviews_api.router,
        files_api.router,
        shipment_api.router,
        prescribing_api.router,
        prescription_review_api.router,
        prescription_patient_api.router,
        verification_api.router,
        pharmacy_api.router,
        returns_api.router,
        catalogue_api.router,
        triage_api.router,
        supervision_api.router,
        dashboard_api.router,
        reporting_api.router,
        traceability_api.router,
        pages.router,
        identity_pages.router,
        directory_pages.router,
        notifications_pages.router,
        billing_pages.router,
        finance_pages.router,
        insurance_pages.router,
        booking_pages.router,
        dayof_pages.router,
        waitlist_pages.router,
        suspension_pages.router,
        booking_fairness_pages.router,
        own_schedule_pages.router,
        reschedule_pages.router,
        service_pages.router,
        service_day_pages.router,
        service_admin_pages.router,
        consultation_pages.router,
        reviews_pages.router,
        consultation_patient_pages.router,
        campaigns_pages.router,
        campaigns_admin_pages.router,
        consultation_doctor_pages.router,
        video_pages.router,
        chat_pages.router,
        record_pages.router,
        prescribing_pages.router,
        prescription_visit_pages.router,
        duty_pages.router,
        department_pages.router,
        prescription_review_pages.router,
        prescription_patient_pages.router,
        verification_pages.router,
        pharmacy_pages.router,
        pharmacy_admin_pages.router,
        pharmacy_stock_pages.router,
        delivery_pages.router,
        catalogue_pages.router,
        prescreening_api.router,
        board_socket.router,
        prescreening_pages.router,
        prescreening_admin_pages.router,
        prescreening_draft_pages.router,
        triage_pages.router,
        supervision_pages.router,
        dashboard_pages.router,
        supervision_incident_pages.router,
        reporting_pages.router,
        traceability_pages.router,
    ]


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    engine: AsyncEngine | None = None,
    services: dict[str, Any] | None = None,
    worker: bool = False,
) -> FastAPI:
    """Build the application. Tests pass their own settings, clock, engine and sandboxes.
    ``worker`` runs an outbox worker inside the app for its lifetime (the demo)."""
    settings = settings or get_settings()
    own_engine = engine is None
    engine = engine or make_engine(settings.effective_database_url())
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await asyncio.to_thread(load_knowledge)  # the triage lexicon and segmenter, once
        async with worker_in_app(app) if worker else nullcontext():
            yield
        await app.state.chat_writer.close()
        await app.state.rate_limiter.close()
        await app.state.object_store.close()
        await app.state.realtime_hub.close()
        if own_engine:
            await engine.dispose()

    app = FastAPI(
        title="ihospital",
        version="0.1.0",
        description="互联网医院平台 API. Errors are RFC 9457 problem+json.",
        lifespan=lifespan,
    )
    from ihospital.billing.insurance.platform import make_insurance_platform
    from ihospital.billing.providers import make_payment_providers
    from ihospital.consultation.chat_pages import chat_body_limit
    from ihospital.consultation.chat_writer import ChatWriter
    from ihospital.files.api import UPLOAD_PATH, upload_body_limit
    from ihospital.files.storage import make_object_store
    from ihospital.identity.providers import make_realname_provider
    from ihospital.notifications.senders import make_sms_sender
    from ihospital.pharmacy.carriers import make_carriers
    from ihospital.prescribing.catalogue_api import import_body_limits
    from ihospital.supervision.reporting.platform import make_provincial

    app.state.settings = settings
    app.state.engine = engine
    app.state.booking_admission = Admission(pool_size(engine))
    # the app's own work outside requests (the outbox worker of the demo) frees places too
    app.state.sessionmaker = make_sessionmaker(
        engine, info={FULL_SLOTS: app.state.booking_admission.full}
    )
    app.state.clock = clock or Clock()
    app.state.rate_limiter = make_rate_limiter(settings, app.state.clock)
    app.state.realtime_hub = make_hub(settings)
    app.state.heartbeat = Heartbeat(settings.ws_heartbeat_seconds)
    # the chat's sends, stored in batches (group commit) on the app's current sessionmaker
    app.state.chat_writer = ChatWriter(lambda: app.state.sessionmaker())
    app.state.metrics = metrics
    app.state.cipher = FieldCipher(settings.field_key, settings.blind_index_key)
    app.state.templates = make_templates()
    app.state.page_refusal = page_refusal
    app.state.realname_provider = make_realname_provider(settings)
    app.state.sms_sender = make_sms_sender(settings)
    app.state.payment_providers = make_payment_providers(settings, app.state.clock)
    app.state.insurance_platform = make_insurance_platform(settings)
    app.state.carriers = make_carriers(settings, app.state.clock)
    app.state.object_store = make_object_store(settings, app.state.clock)
    provincial = make_provincial(settings, app.state.clock)
    app.state.provincial_platform = provincial.platform
    app.state.provincial_sandbox = provincial.sandbox
    for name, service in (services or {}).items():
        setattr(app.state, name, service)

    install_error_handlers(app)
    for router in _routers():
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    app.add_middleware(
        RequestContextMiddleware,
        settings=settings,
        metrics=metrics,
        body_limits=dict(
            [(UPLOAD_PATH, upload_body_limit(settings)), chat_body_limit(settings)],
            **import_body_limits(settings),
        ),
    )
    return app
