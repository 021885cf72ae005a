"""A small world with one account of every role, for the security tests.

One institution with a verified doctor, a vaccination with a session, and staff of every kind, a
patient account with its own 就诊人 (who has medical insurance), a regulator and a platform
admin; every account has an inbox message, an API token and a browser session. ``client_for``
gives an httpx client acting as one of them (or as a visitor).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.booking.resource_schedules import create_resource_sessions
from ihospital.booking.resources import create_resource
from ihospital.core.clock import Clock
from ihospital.core.context import Actor
from ihospital.deps import SESSION_COOKIE
from ihospital.directory.models import Institution
from ihospital.identity.models import Account, Patient
from ihospital.identity.sessions import open_session
from ihospital.notifications.models import InboxMessage
from ihospital.security.csrf import CSRF_COOKIE, CSRF_HEADER, new_csrf_token
from ihospital.security.permissions import STAFF_ROLES, Role
from tests.billing.insurance.builders import make_coverage
from tests.booking.builders import VACCINATION, WINDOWS
from tests.directory.builders import doctor_account, make_doctor, make_institution
from tests.identity.builders import make_account, make_patient
from tests.notifications.builders import make_inbox_message

ANONYMOUS = "anonymous"
BASE_URL = "https://testserver"


@dataclass
class World:
    institution: Institution
    practitioner_id: int
    patient: Patient  # the patient account's own 就诊人, with medical insurance
    accounts: dict[str, Account] = field(default_factory=dict)
    messages: dict[str, InboxMessage] = field(default_factory=dict)
    api_tokens: dict[str, str] = field(default_factory=dict)
    web_tokens: dict[str, str] = field(default_factory=dict)
    resource_id: int = 0  # the institution's vaccination
    slot_id: int = 0  # the first time window of its session


async def build_world(session: AsyncSession, *, clock: Clock) -> World:
    institution = await make_institution(session, clock=clock)
    doctor = await make_doctor(session, clock=clock, institution=institution)
    accounts: dict[str, Account] = {Role.DOCTOR: await doctor_account(session, view=doctor)}
    for role in Role:
        if role is not Role.DOCTOR:
            accounts[role] = await make_account(
                session,
                role=role.value,
                display_name=f"{role.value}-user",
                institution_id=institution.id if role in STAFF_ROLES else None,
                clock=clock,
            )
    accounts[Role.REGULATOR].region_code = institution.region_code  # regulators have a region
    patient = await make_patient(session, account=accounts[Role.PATIENT], clock=clock)
    await make_coverage(session, patient=patient, clock=clock)
    world = World(institution, doctor.id, patient, accounts)
    system = Actor.system(clock)
    resource = await create_resource(
        session, system, institution_id=institution.id, values=VACCINATION
    )
    [view] = await create_resource_sessions(
        session,
        system,
        institution_id=institution.id,
        resource_id=resource.id,
        window=WINDOWS,
        days=[clock.today_local() + timedelta(days=1)],
    )
    world.resource_id, world.slot_id = resource.id, view.slots[0].id
    for role, account in accounts.items():
        world.messages[role] = await make_inbox_message(session, account=account)
        for kind, tokens in (("api", world.api_tokens), ("web", world.web_tokens)):
            issued = await open_session(session, system, account=account, kind=kind, hours=1)
            tokens[role] = issued.token
    return world


def client_for(app: FastAPI, world: World, caller: str, *, page: bool) -> httpx.AsyncClient:
    """A client acting as ``caller``: a bearer token for the API; for pages the session cookie,
    and a valid CSRF cookie and header."""
    headers: dict[str, str] = {}
    cookies: dict[str, str] = {}
    if page:
        csrf = new_csrf_token(app.state.settings.secret_key)
        cookies[CSRF_COOKIE] = csrf
        headers[CSRF_HEADER] = csrf
        if caller != ANONYMOUS:
            cookies[SESSION_COOKIE] = world.web_tokens[caller]
    elif caller != ANONYMOUS:
        headers["Authorization"] = f"Bearer {world.api_tokens[caller]}"
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=BASE_URL, headers=headers, cookies=cookies
    )
