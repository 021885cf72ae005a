"""Builders of the pharmacy order tests: an institution with a pharmacy and its pharmacist, a
patient with an approved prescription from a diagnostic follow-up consultation, stock."""

from __future__ import annotations

from dataclasses import dataclass

from httpx import Response
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.core.clock import Clock
from ihospital.core.context import Actor
from ihospital.errors import PROBLEM_JSON
from ihospital.identity.models import Account, Patient
from ihospital.pharmacy.models import Pharmacy, PharmacyStock
from ihospital.pharmacy.orders import Delivery
from ihospital.prescribing.models import Drug, Prescription
from tests.consultation.builders import PRIOR, Practice, in_progress, make_practice
from tests.identity.builders import auth_headers, make_account, make_patient
from tests.prescribing.builders import Line, make_drug, make_prescription

HOME = Delivery("王小明", "13800138000", "湖北省武汉市洪山区珞喻路1037号")


@dataclass
class Shop:
    """A practice with one pharmacy and its pharmacist; a patient with an approved
    prescription of ``drug`` (2 packages) that the pharmacy stocks."""

    practice: Practice
    pharmacist: Account
    pharmacy: Pharmacy
    patient: Patient
    drug: Drug
    prescription: Prescription

    def buyer(self, clock: Clock) -> Actor:
        return Actor(role="patient", clock=clock, account_id=self.patient.account_id)

    def dispenser(self, clock: Clock) -> Actor:
        return Actor(
            role="pharmacist",
            clock=clock,
            account_id=self.pharmacist.id,
            institution_id=self.practice.institution.id,
        )


async def make_pharmacy(
    session: AsyncSession,
    *,
    clock: Clock,
    institution_id: int,
    name: str = "协和医院门诊药房",
    offers_delivery: bool = True,
    offers_pickup: bool = True,
    cold_chain: bool = False,
    delivery_fee_fen: int = 800,
) -> Pharmacy:
    pharmacy = Pharmacy(
        institution_id=institution_id,
        kind="hospital",
        name=name,
        licence_number="鄂AA0270001",
        address="武汉市江汉区解放大道1277号",
        phone="027-85726114",
        offers_delivery=offers_delivery,
        offers_pickup=offers_pickup,
        cold_chain=cold_chain,
        delivery_fee_fen=delivery_fee_fen,
        active=True,
        created_at=clock.now(),
    )
    session.add(pharmacy)
    await session.flush()
    return pharmacy


async def stock(
    session: AsyncSession,
    *,
    clock: Clock,
    pharmacy: Pharmacy,
    drug: Drug,
    on_hand: int = 10,
    price_fen: int = 2850,
) -> PharmacyStock:
    row = PharmacyStock(
        pharmacy_id=pharmacy.id,
        drug_id=drug.id,
        on_hand=on_hand,
        reserved=0,
        price_fen=price_fen,
        updated_at=clock.now(),
    )
    session.add(row)
    await session.flush()
    return row


async def approved_prescription(
    session: AsyncSession,
    *,
    clock: Clock,
    practice: Practice,
    drug: Drug,
    patient: Patient | None = None,
    status: str = "approved",
    quantity: int = 2,
) -> Prescription:
    """A prescription of ``drug`` for ``patient`` (a new one by default) from a diagnostic
    follow-up consultation with the practice's doctor."""
    patient = patient or await make_patient(
        session, account=await make_account(session, clock=clock), clock=clock
    )
    consultation = await in_progress(session, clock, practice, patient, prior=PRIOR)
    return await make_prescription(
        session,
        clock=clock,
        doctor=practice.doctor,
        consultation=consultation,
        lines=[Line(drug, quantity=quantity)],
        status=status,
    )


async def make_shop(
    session: AsyncSession, *, clock: Clock, on_hand: int = 10, cold_chain: bool = False
) -> Shop:
    """A shop whose pharmacy has no cold chain; ``cold_chain`` makes the drug need it."""
    practice = await make_practice(session, clock=clock, fee_fen=0)
    pharmacist = await make_account(
        session, role="pharmacist", institution_id=practice.institution.id, clock=clock
    )
    pharmacy = await make_pharmacy(session, clock=clock, institution_id=practice.institution.id)
    drug = await make_drug(session, clock=clock, cold_chain=cold_chain)
    await stock(session, clock=clock, pharmacy=pharmacy, drug=drug, on_hand=on_hand)
    patient = await make_patient(
        session, account=await make_account(session, clock=clock), clock=clock
    )
    prescription = await approved_prescription(
        session, clock=clock, practice=practice, drug=drug, patient=patient
    )
    return Shop(practice, pharmacist, pharmacy, patient, drug, prescription)


async def headers_of(session: AsyncSession, clock: Clock, account_id: int) -> dict[str, str]:
    """The bearer headers of an account."""
    return await auth_headers(session, account=await session.get(Account, account_id), clock=clock)


def problem_of(response: Response, status: int, code: str) -> dict:
    """The problem+json body of a refusal, checked for its status and code."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body = response.json()
    assert body["code"] == code
    return body
