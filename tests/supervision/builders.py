"""A small supervision world: an institution in Beijing's 朝阳区 with its admin and a 就诊人, a
regulator of Beijing and one of Wuhan; and an alert opened the way the rules open them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.models import AuditEntry
from ihospital.core.clock import Clock
from ihospital.core.context import Actor
from ihospital.directory.models import Institution
from ihospital.identity.models import Account, Patient
from ihospital.supervision.alerts import raise_alert
from ihospital.supervision.models import SupervisionAlert
from tests.directory.builders import make_institution
from tests.identity.builders import make_account, make_patient

BEIJING, WUHAN = "110000", "420100"


@dataclass
class SupervisionWorld:
    institution: Institution
    admin: Account
    patient: Patient
    regulator: Account  # of Beijing, where the institution is
    other_regulator: Account  # of Wuhan

    def regulator_actor(self, clock: Clock) -> Actor:
        return Actor(
            role="regulator",
            clock=clock,
            account_id=self.regulator.id,
            region_code=self.regulator.region_code,
        )

    def admin_actor(self, clock: Clock) -> Actor:
        return Actor(
            role="institution_admin",
            clock=clock,
            account_id=self.admin.id,
            institution_id=self.institution.id,
        )


async def _regulator(session: AsyncSession, clock: Clock, region_code: str) -> Account:
    account = await make_account(session, role="regulator", clock=clock)
    account.region_code = region_code
    await session.flush()
    return account


async def make_world(session: AsyncSession, clock: Clock) -> SupervisionWorld:
    institution = await make_institution(session, clock=clock)  # 110105 北京市朝阳区
    admin = await make_account(
        session, role="institution_admin", institution_id=institution.id, clock=clock
    )
    return SupervisionWorld(
        institution=institution,
        admin=admin,
        patient=await make_patient(session, clock=clock),
        regulator=await _regulator(session, clock, BEIJING),
        other_regulator=await _regulator(session, clock, WUHAN),
    )


async def open_alert(
    session: AsyncSession,
    clock: Clock,
    world: SupervisionWorld,
    *,
    rule_id: str = "R13.3",
    subject: str = "consultation:1",
) -> SupervisionAlert:
    alert = await raise_alert(
        session,
        Actor.system(clock),
        rule_id=rule_id,
        subject=subject,
        institution_id=world.institution.id,
        patient_id=world.patient.id,
        details={"waited_minutes": 90},
    )
    assert alert is not None
    return alert


async def alerts_of(session: AsyncSession, rule_id: str) -> list[SupervisionAlert]:
    return list(
        await session.scalars(
            select(SupervisionAlert)
            .where(SupervisionAlert.rule_id == rule_id)
            .order_by(SupervisionAlert.id)
        )
    )


async def audit_of(session: AsyncSession, action: str) -> list[AuditEntry]:
    return list(await session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def payload(world: SupervisionWorld, **values: Any) -> dict[str, Any]:
    """The members every event of the world's institution carries, and ``values``."""
    return {"institution_id": world.institution.id, "patient_id": world.patient.id, **values}
