"""The e-prescription part of the demo data set: 武汉江城医院's own pharmacy (门诊药房) and a
partner retail pharmacy (合作零售药店, cold-chain capable) with stock and prices of a few dozen
common drugs of the seed catalogue; a diagnostic follow-up consultation (复诊) of 李明 in
progress with the featured doctor, so the doctor can prescribe at once; and one prescription for
李国强 (李明's father), written and signed by that doctor and approved by the demo pharmacist,
ready to buy.

Everything goes through the services as the people concerned (the admin's pharmacies, the
pharmacist's stock and review, the patient's consultations, the doctor's verified working
session and signature), so the rules R01, R04, R06, R10–R20 apply as they would to real input.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.config import Settings
from ihospital.consultation.duty import end_work_session, start_work_session
from ihospital.consultation.lifecycle import PriorDiagnosis, start_consultation
from ihospital.consultation.models import Consultation
from ihospital.consultation.prices import set_price
from ihospital.consultation.workstation import accept_consultation, confirm_prior_diagnosis
from ihospital.core.context import Actor
from ihospital.directory.models import Institution, Practitioner
from ihospital.identity.models import Account, Patient
from ihospital.identity.policy import AuthPolicy
from ihospital.pharmacy.models import Pharmacy
from ihospital.pharmacy.stock import PharmacyValues, create_pharmacy, set_stock
from ihospital.prescribing.models import Drug
from ihospital.prescribing.review import decide_prescription
from ihospital.prescribing.schemas import ItemIn, PrescriptionCreate
from ihospital.prescribing.service import write_prescription
from ihospital.security.crypto import FieldCipher

# The ingredients the pharmacies stock (every catalogue drug of each): chronic disease, common
# infections, pain, the stomach, allergies, and insulin (cold chain: the partner pharmacy only).
STOCKED_INGREDIENTS = (
    "amlodipine",
    "levamlodipine",
    "nifedipine",
    "valsartan",
    "losartan",
    "irbesartan",
    "telmisartan",
    "benazepril",
    "metoprolol",
    "bisoprolol",
    "hydrochlorothiazide",
    "atorvastatin",
    "rosuvastatin",
    "simvastatin",
    "aspirin",
    "clopidogrel",
    "metformin",
    "acarbose",
    "gliclazide",
    "glimepiride",
    "sitagliptin",
    "insulin glargine",
    "insulin aspart",
    "insulin human",
    "levothyroxine",
    "omeprazole",
    "pantoprazole",
    "amoxicillin",
    "cefuroxime",
    "azithromycin",
    "ibuprofen",
    "paracetamol",
    "loratadine",
    "cetirizine",
    "montelukast",
)
RETAIL_MARKUP = Decimal("1.08")  # the partner pharmacy's prices: 8 % over the reference price
ON_HAND = 60

HOSPITAL_PHARMACY = PharmacyValues(
    kind="hospital",
    name="武汉江城医院门诊药房",
    licence_number="鄂DA0270238",
    address="武汉市武昌区中山路 238 号门诊楼一层",
    phone="027-88041920",
    offers_delivery=True,
    offers_pickup=True,
    cold_chain=False,
    delivery_fee_fen=600,
)
PARTNER_PHARMACY = PharmacyValues(
    kind="retail",
    name="武汉仁和大药房中山路店",
    licence_number="鄂CA0271146",
    address="武汉市武昌区中山路 301 号",
    phone="027-88860301",
    offers_delivery=True,
    offers_pickup=True,
    cold_chain=True,
    delivery_fee_fen=800,
)

PRIOR = "原发性高血压；2型糖尿病"
COMPLAINT = "高血压、糖尿病复诊，近期血压血糖平稳，药快吃完了，申请续方"
# the approved prescription: catalogue code, dose, frequency, days
APPROVED_LINES = (
    ("XC08CAA027A001010100100", "5", "qd", 7),  # 苯磺酸氨氯地平片 5 mg × 7
    ("XA10BAA079A001010100655", "500", "bid", 7),  # 盐酸二甲双胍片 500 mg × 20
)


@dataclass(frozen=True)
class PrescriptionDemo:
    """Where the walk through an e-prescription starts for each featured account."""

    consultation_id: int
    prescription_id: int


async def load_prescription_demo(
    session: AsyncSession,
    actor: Actor,
    *,
    settings: Settings,
    institution: Institution,
    doctor: Practitioner,
    patient: Patient,
    relative: Patient,
    password: str,
) -> PrescriptionDemo:
    """The pharmacies with stock, ``patient``'s consultation in progress with ``doctor``, and an
    approved prescription of ``relative`` ready to buy (see the module docstring); ``password``
    is the doctor's, to open the working session the signature needs (R04)."""
    pharmacist = await _pharmacist(session, actor, institution)
    for values in (HOSPITAL_PHARMACY, PARTNER_PHARMACY):
        pharmacy = await create_pharmacy(
            session, actor, institution_id=institution.id, values=values
        )
        await _stock(session, pharmacist, pharmacy)
    prescriber = Actor(
        role="doctor",
        clock=actor.clock,
        account_id=doctor.account_id,
        institution_id=institution.id,
        request_id=actor.request_id,
    )
    await set_price(
        session, prescriber, institution_id=institution.id, consultation_type="text", fee_fen=0
    )
    await start_work_session(session, prescriber, password=password, policy=AuthPolicy())
    approved = await _consultation(session, prescriber, doctor, relative)
    prescription, _ = await write_prescription(
        session,
        prescriber,
        body=PrescriptionCreate(
            consultation_id=approved.id,
            diagnoses=["I10", "E11.9"],
            items=await _items(session),
            validity_days=3,
            validity_reason="老人行动不便，由家属代购",
        ),
        cipher=FieldCipher(settings.field_key, settings.blind_index_key),
    )
    await decide_prescription(
        session, pharmacist, prescription_id=prescription.id, decision="approve"
    )
    open_one = await _consultation(session, prescriber, doctor, patient)
    # the doctor verifies again when signing in: the demo's working session ends here (R04)
    await end_work_session(session, prescriber)
    return PrescriptionDemo(consultation_id=open_one.id, prescription_id=prescription.id)


async def _pharmacist(session: AsyncSession, actor: Actor, institution: Institution) -> Actor:
    account = await session.scalar(
        select(Account)
        .where(Account.role == "pharmacist", Account.institution_id == institution.id)
        .order_by(Account.id)
        .limit(1)
    )
    assert account is not None  # the demo creates 周药师 before the pharmacies
    return Actor(
        role="pharmacist",
        clock=actor.clock,
        account_id=account.id,
        institution_id=institution.id,
        request_id=actor.request_id,
    )


async def _stock(session: AsyncSession, pharmacist: Actor, pharmacy: Pharmacy) -> None:
    """Every catalogue drug of :data:`STOCKED_INGREDIENTS` the pharmacy can keep (cold-chain
    drugs only where there is a cold chain), at the reference price or the retail markup."""
    drugs = await session.scalars(
        select(Drug)
        .where(Drug.ingredient.in_(STOCKED_INGREDIENTS), Drug.active.is_(True))
        .order_by(Drug.id)
    )
    for drug in drugs:
        if drug.cold_chain and not pharmacy.cold_chain:
            continue
        price = drug.reference_price_fen
        if pharmacy.kind == "retail":
            price = int((Decimal(price) * RETAIL_MARKUP).quantize(Decimal(1)))
        await set_stock(
            session,
            pharmacist,
            pharmacy_id=pharmacy.id,
            drug_id=drug.id,
            on_hand=ON_HAND,
            price_fen=price,
        )


async def _consultation(
    session: AsyncSession, prescriber: Actor, doctor: Practitioner, patient: Patient
) -> Consultation:
    """A free text 复诊 of ``patient`` with the doctor on an earlier offline diagnosis (R01),
    accepted and the diagnosis confirmed: in progress, open for prescribing."""
    today = prescriber.clock.today_local()
    owner = Actor(
        role="patient", clock=prescriber.clock, account_id=patient.account_id, request_id="demo"
    )
    consultation = await start_consultation(
        session,
        owner,
        patient_id=patient.id,
        institution_id=doctor.institution_id,
        practitioner_id=doctor.id,
        consultation_type="text",
        complaint=COMPLAINT,
        prior=PriorDiagnosis("武汉江城医院", date(today.year - 1, 3, 12), PRIOR),
    )
    await accept_consultation(session, prescriber, consultation_id=consultation.id)
    await confirm_prior_diagnosis(session, prescriber, consultation_id=consultation.id)
    return consultation


async def _items(session: AsyncSession) -> list[ItemIn]:
    codes = [code for code, *_ in APPROVED_LINES]
    drugs = {d.code: d for d in await session.scalars(select(Drug).where(Drug.code.in_(codes)))}
    return [
        ItemIn(
            drug_id=drugs[code].id,
            dose=Decimal(dose),
            dose_unit=drugs[code].strength_unit,
            frequency=frequency,
            route=drugs[code].default_route,
            days=days,
        )
        for code, dose, frequency, days in APPROVED_LINES
    ]
