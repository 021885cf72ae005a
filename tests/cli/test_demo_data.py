"""The demo data set: what ``ihospital demo`` promises a new user, loaded once per module through
``load_demo`` (the CLI's loader, on the test database) and then only read."""

import functools
from collections import Counter

import pytest
from sqlalchemy import func, select

from ihospital.audit.chain import seal_all, verify_chain
from ihospital.billing.insurance.models import Coverage
from ihospital.billing.ledger import ledger_total
from ihospital.billing.models import Order, Payment
from ihospital.booking.models import BookingResource, ScheduleSession, Slot
from ihospital.cli.demo import load_demo, print_demo
from ihospital.consultation.events import is_diagnostic
from ihospital.consultation.models import Consultation
from ihospital.core.clock import Clock
from ihospital.core.context import Actor
from ihospital.core.ids import parse_resident_id
from ihospital.db import make_engine, make_sessionmaker
from ihospital.demo import DEMO_PASSWORD, PATIENTS, RECENT_STARTS, SECOND_SITES, resident_id
from ihospital.directory.eligibility import online_service_eligibility
from ihospital.directory.models import Institution, PracticeSite, Practitioner
from ihospital.directory.search import search_doctors
from ihospital.identity import accounts
from ihospital.identity.models import Account, Patient
from ihospital.outbox.models import OutboxEvent
from ihospital.pharmacy.models import Pharmacy, PharmacyStock
from ihospital.pharmacy.orders import candidate_pharmacies
from ihospital.prescribing.models import Drug, Prescription
from ihospital.prescribing.review import check_signature, prescription_items
from ihospital.security.passwords import verify_password
from ihospital.triage.prescreening.models import FeverClinic, ScreeningSubmission
from ihospital.triage.prescreening.screening import ALERT_TOPIC
from tests.conftest import make_settings

ROLES = ("patient", "doctor", "pharmacist", "nurse", "institution_admin", "regulator")


@pytest.fixture(scope="module")
async def demo(databases, tmp_path_factory):
    settings = make_settings(tmp_path_factory.mktemp("demo"), await databases.fresh())
    with pytest.MonkeyPatch.context() as patch:
        # One shared password: hash it once (any of its hashes verifies) to spare ~50 Argon2 runs.
        patch.setattr(accounts, "hash_password", functools.cache(accounts.hash_password))
        state = await load_demo(settings)
    engine = make_engine(settings.effective_database_url())
    yield settings, state, make_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture
async def db(demo):
    async with demo[2]() as session:
        yield session


async def test_a_second_start_reuses_the_data_and_shows_the_same_logins(demo, capsys):
    settings, first, _ = demo
    again = await load_demo(settings)
    assert (first.data, again.data) == ("loaded", "existing")
    assert again.logins == first.logins
    print_demo(settings, again)
    printed = capsys.readouterr().out
    featured = [login for login in first.logins if login.featured]
    assert sorted(login.role for login in featured) == sorted((*ROLES, "platform_admin"))
    assert all(f"{login.mobile}  {DEMO_PASSWORD}  {login.name}" in printed for login in featured)
    assert f"All {len(first.logins)} demo accounts are listed in {settings.data_dir}" in printed


async def test_the_logins_are_every_account_and_the_printed_ones_take_the_password(demo, db):
    _, state, _ = demo
    stored = {account.mobile: account for account in await db.scalars(select(Account))}
    assert {login.mobile: login.role for login in state.logins} == {
        mobile: account.role for mobile, account in stored.items()
    }
    for login in state.logins:
        if login.featured:
            assert verify_password(stored[login.mobile].password_hash, login.password)


async def test_two_regions_several_levels_and_thirty_doctors_through_the_review(db):
    institutions = (await db.scalars(select(Institution))).all()
    assert {i.region_code[:2] for i in institutions} == {"42", "11"}
    assert {i.level for i in institutions} >= {"三级甲等", "二级甲等", "二级", "社区卫生服务中心"}
    assert sum(i.is_internet_hospital for i in institutions) == 2
    doctors = (await db.scalars(select(Practitioner))).all()
    assert len(doctors) >= 30
    assert {d.title for d in doctors} == {"主任医师", "副主任医师", "主治医师", "住院医师"}
    statuses = Counter(d.verification_status for d in doctors)
    assert statuses["verified"] >= 30
    assert {"pending", "rejected", "draft"} <= set(statuses)
    sites = Counter(await db.scalars(select(PracticeSite.practitioner_id)))
    assert sum(count == 2 for count in sites.values()) == len(SECOND_SITES)


async def test_every_role_has_an_account_and_every_institution_an_admin(db):
    roles = Counter(await db.scalars(select(Account.role)))
    assert all(roles[role] >= 1 for role in (*ROLES, "platform_admin"))
    admins = await db.scalars(
        select(Account.institution_id).where(Account.role == "institution_admin")
    )
    assert sorted(admins.all()) == sorted((await db.scalars(select(Institution.id))).all())


async def test_patients_manage_family_members_with_valid_resident_ids(db, clock):
    patients = (await db.scalars(select(Patient))).all()
    assert len(patients) == sum(len(p.members) for p in PATIENTS)
    assert {p.relationship for p in patients} == {"self", "child", "parent"}
    assert all(p.realname_status == "verified" for p in patients)
    for seed in PATIENTS:
        for _, _, region, birth, sequence in seed.members:
            parse_resident_id(resident_id(region, birth, sequence), today=clock.today_local())


async def test_every_verified_doctor_is_found_by_name_and_region_the_others_are_not(db):
    actor = Actor(role="anonymous")
    doctors = (await db.scalars(select(Practitioner).order_by(Practitioner.id))).all()
    for doctor in doctors:
        found = await search_doctors(db, actor, q=doctor.name, page_size=50)
        assert (doctor.id in {d.id for d in found.items}) == (
            doctor.verification_status == "verified"
        ), doctor.name
    verified = sum(d.verification_status == "verified" for d in doctors)
    wuhan = await search_doctors(db, actor, region_code="420100", page_size=50)
    beijing = await search_doctors(db, actor, region_code="110000", page_size=50)
    assert wuhan.total + beijing.total >= verified
    assert [d.name for d in (await search_doctors(db, actor, q="wjh")).items] == [doctors[0].name]


async def test_recent_residents_are_refused_online_and_a_filed_second_site_serves_online(db):
    actor = Actor(role="anonymous")
    doctors = (await db.scalars(select(Practitioner).order_by(Practitioner.id))).all()
    for index in RECENT_STARTS:
        recent = await online_service_eligibility(
            db,
            actor,
            practitioner_id=doctors[index].id,
            institution_id=doctors[index].institution_id,
        )
        assert [reason.code for reason in recent.reasons] == ["practice_under_3_years"]
    visiting = next(i for i, site in SECOND_SITES.items() if site[0] == "bj-a")
    internet_hospital = await db.scalar(
        select(Institution.id).where(Institution.name == "北京和平医院")
    )
    there = await online_service_eligibility(
        db, actor, practitioner_id=doctors[visiting].id, institution_id=internet_hospital
    )
    assert there.allowed


async def test_the_audit_chain_of_the_loaded_data_holds(db):
    sealed = await seal_all(db, Clock())
    result = await verify_chain(db, Clock())
    entries = await db.scalar(select(func.count()).select_from(Account))
    assert result.ok
    assert result.checked == sealed > entries


async def test_bills_wait_for_checkout_with_insurance_and_one_is_paid(db):
    orders = (await db.scalars(select(Order).order_by(Order.id))).all()
    assert [order.status for order in orders] == ["pending", "pending", "paid"]
    assert all(order.insured_fen == 0 for order in orders)
    insured = await db.scalars(select(Coverage.patient_id))
    assert set(insured.all()) == {orders[0].patient_id, orders[1].patient_id}
    payment = await db.get(Payment, orders[2].payment_id)
    assert (payment.status, payment.amount_fen) == ("succeeded", orders[2].total_fen)
    assert await ledger_total(db) == 0


async def test_a_week_of_sessions_is_open_for_booking_at_the_main_hospital(db):
    sessions = (
        await db.scalars(
            select(ScheduleSession).where(ScheduleSession.practitioner_id.is_not(None))
        )
    ).all()
    assert len({s.day for s in sessions}) == 7
    assert {s.fee_class for s in sessions} == {"expert", "general"}
    slots = await db.scalar(
        select(func.count()).select_from(Slot).where(Slot.session_id.in_([s.id for s in sessions]))
    )
    assert slots == 20 * len(sessions)


async def test_a_week_of_vaccinations_and_check_ups_is_open_at_the_main_hospital(db):
    resources = (await db.scalars(select(BookingResource).order_by(BookingResource.id))).all()
    assert [(r.kind, r.sex) for r in resources] == [
        ("vaccination", None),
        ("checkup", None),
        ("checkup", "female"),
    ]
    main = await db.scalar(select(Institution).where(Institution.name == "武汉江城医院"))
    assert {r.institution_id for r in resources} == {main.id}
    sessions = (
        await db.scalars(select(ScheduleSession).where(ScheduleSession.resource_id.is_not(None)))
    ).all()
    assert len(sessions) == 7 * len(resources)
    flu = [s for s in sessions if s.resource_id == resources[0].id]
    assert {(s.capacity, s.slot_minutes) for s in flu} == {(140, 30)}


async def test_the_hospital_and_a_cold_chain_partner_pharmacy_stock_common_drugs(db):
    main = await db.scalar(select(Institution).where(Institution.name == "武汉江城医院"))
    pharmacies = (await db.scalars(select(Pharmacy).order_by(Pharmacy.id))).all()
    assert [(p.kind, p.cold_chain, p.institution_id) for p in pharmacies] == [
        ("hospital", False, main.id),
        ("retail", True, main.id),
    ]
    for pharmacy in pharmacies:
        rows = (
            await db.execute(
                select(Drug.ingredient, Drug.cold_chain, PharmacyStock.price_fen)
                .join(PharmacyStock, PharmacyStock.drug_id == Drug.id)
                .where(PharmacyStock.pharmacy_id == pharmacy.id, PharmacyStock.on_hand > 0)
            )
        ).all()
        assert len(rows) >= 30
        assert {"amlodipine", "metformin", "atorvastatin"} <= {row.ingredient for row in rows}
        assert all(row.price_fen > 0 for row in rows)
        assert any(row.cold_chain for row in rows) is pharmacy.cold_chain  # insulin


async def test_the_featured_accounts_start_on_their_step_of_a_prescription(demo, db, capsys):
    settings, state, _ = demo
    featured = {login.role: login for login in state.logins if login.featured}
    doctor_page, review_page, buy_page = (
        featured[role].start for role in ("doctor", "pharmacist", "patient")
    )
    assert review_page == "/pharmacist/prescriptions"
    consultation = await db.get(Consultation, int(doctor_page.split("/")[3]))
    doctor = await db.get(Practitioner, consultation.practitioner_id)
    doctor_account = await db.get(Account, doctor.account_id)
    patient = await db.get(Patient, consultation.patient_id)
    assert doctor_account.mobile == featured["doctor"].mobile
    assert (patient.name, consultation.status) == (featured["patient"].name, "in_progress")
    assert is_diagnostic(consultation)  # R01
    prescription = await db.get(Prescription, int(buy_page.split("/")[2]))
    reviewer = await db.get(Account, prescription.reviewed_by_account_id)
    assert (prescription.status, reviewer.mobile) == ("approved", featured["pharmacist"].mobile)
    assert prescription.prescriber_id == doctor.id
    items = await prescription_items(db, prescription.id)
    assert (await check_signature(db, prescription, items)).reason is None
    buyer = Actor(role="patient", clock=Clock(), account_id=patient.account_id)
    _, candidates = await candidate_pharmacies(db, buyer, prescription_id=prescription.id)
    assert [candidate.all_in_stock for candidate in candidates] == [True, True]
    print_demo(settings, state)
    printed = capsys.readouterr().out
    assert all(f"{settings.base_url}{page}" in printed for page in (doctor_page, buy_page))


async def test_fever_clinics_and_a_high_risk_pre_screening_wait_for_the_command_centre(db):
    clinics = (await db.scalars(select(FeverClinic).where(FeverClinic.active))).all()
    assert len(clinics) == 3
    [submission] = (await db.scalars(select(ScreeningSubmission))).all()
    assert (submission.level, submission.region_code) == ("high", "420111")
    events = await db.scalar(
        select(func.count()).select_from(OutboxEvent).where(OutboxEvent.topic == ALERT_TOPIC)
    )
    assert events == 1  # the worker turns it into the Wuhan command centre's alert
    regulator = await db.scalar(select(Account).where(Account.role == "regulator"))
    assert submission.region_code.startswith(regulator.region_code[:4])
