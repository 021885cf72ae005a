"""The demo data set of ``ihospital demo``: two regions (武汉, 北京), institutions of every level,
their departments, 36 doctors through the credential review, patients with family members, and
one account for every other role; medical insurance for two 就诊人, bills waiting to be paid
(with insurance, at checkout) and a paid one, so the bills, checkout and finance pages have
something to show; and a week of morning sessions (出诊排班) for the doctors of 武汉江城医院, open
for booking, with a week of its vaccinations (流感疫苗) and check-ups (体检套餐) in time windows;
and the e-prescription walk of :mod:`ihospital.demo_prescriptions` (pharmacies with stock, a
consultation to prescribe in, an approved prescription to buy); fever clinics and a high-risk
epidemic pre-screening for the command centre's board (:mod:`ihospital.demo_prescreening`).

Everything goes through the domain services, acting as the system, so validation and audit apply
as they would to real input. The data are fixed: the same logins on every machine.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, time, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.billing.insurance.coverage import add_coverage
from ihospital.billing.orders import MAX_HOLD_MINUTES, LineItem, create_order
from ihospital.billing.payments import apply_trade, start_payment
from ihospital.billing.providers import make_payment_providers
from ihospital.booking.resource_schedules import WindowPlan, create_resource_sessions
from ihospital.booking.resources import ResourceInput, create_resource
from ihospital.booking.schedules import SessionPlan, create_sessions
from ihospital.config import Settings
from ihospital.core.context import Actor
from ihospital.core.ids import check_character
from ihospital.demo_prescreening import load_prescreening_demo
from ihospital.demo_prescriptions import PrescriptionDemo, load_prescription_demo
from ihospital.directory.credentials import decide_review, submit_for_review
from ihospital.directory.departments import add_department
from ihospital.directory.institutions import create_institution
from ihospital.directory.models import Institution, PracticeSite, Practitioner
from ihospital.directory.practitioners import create_practitioner
from ihospital.directory.sites import SiteInput
from ihospital.identity.accounts import create_account
from ihospital.identity.models import Patient
from ihospital.identity.patients import add_patient
from ihospital.identity.providers import make_realname_provider
from ihospital.security.crypto import FieldCipher

DEMO_PASSWORD = "Demo@2026"  # noqa: S105 - printed to the person trying the demo


@dataclass(frozen=True)
class DemoLogin:
    """One demo account; ``featured`` ones are printed at start, the rest are kept in a file."""

    role: str
    name: str
    mobile: str
    password: str = DEMO_PASSWORD
    place: str = ""
    featured: bool = False
    start: str = ""  # the page to start on (the e-prescription walk), printed after the login


@dataclass
class DemoSummary:
    logins: list[DemoLogin] = field(default_factory=list)
    institutions: int = 0
    doctors: int = 0
    patients: int = 0


@dataclass(frozen=True)
class InstitutionSeed:
    key: str
    name: str
    level: str
    region_code: str
    region_name: str
    address: str
    phone: str
    internet_licence: str
    departments: tuple[str, ...]
    upper: str | None = None


INSTITUTIONS = (
    InstitutionSeed(
        "wh-a",
        "武汉江城医院",
        "三级甲等",
        "420106",
        "湖北省武汉市武昌区",
        "武汉市武昌区中山路 238 号",
        "027-88041911",
        "鄂卫互联网医院 2024-017",
        ("03.01", "03.04", "03.07", "04.03", "05.01", "07", "10", "13", "16"),
    ),
    InstitutionSeed(
        "wh-b",
        "武汉市洪山区人民医院",
        "二级甲等",
        "420111",
        "湖北省武汉市洪山区",
        "武汉市洪山区珞狮路 16 号",
        "027-87392120",
        "",
        ("03", "04", "07", "12"),
        upper="wh-a",
    ),
    InstitutionSeed(
        "wh-c",
        "武昌区水果湖社区卫生服务中心",
        "社区卫生服务中心",
        "420106",
        "湖北省武汉市武昌区",
        "武汉市武昌区东亭路 9 号",
        "027-86781234",
        "",
        ("01", "02"),
        upper="wh-a",
    ),
    InstitutionSeed(
        "bj-a",
        "北京和平医院",
        "三级甲等",
        "110105",
        "北京市朝阳区",
        "北京市朝阳区工体南路 8 号",
        "010-85231000",
        "京卫互联网医院 2023-005",
        ("03.02", "03.03", "03.04", "03.07", "04.01", "05.02", "07", "11", "15"),
    ),
    InstitutionSeed(
        "bj-b",
        "北京市海淀区中西医结合医院",
        "二级",
        "110108",
        "北京市海淀区",
        "北京市海淀区花园路 31 号",
        "010-62017788",
        "",
        ("03", "04", "13"),
        upper="bj-a",
    ),
    InstitutionSeed(
        "bj-c",
        "朝阳区望京社区卫生服务中心",
        "社区卫生服务中心",
        "110105",
        "北京市朝阳区",
        "北京市朝阳区望京西路 48 号",
        "010-64720011",
        "",
        ("01", "02"),
        upper="bj-a",
    ),
)

SPECIALTIES = {
    "01": ("预防接种、慢病随访", "负责辖区居民预防接种和慢性病随访管理。"),
    "02": ("高血压、糖尿病长期管理", "家庭医生签约团队负责人，擅长常见病、慢性病的连续管理。"),
    "03": ("内科常见病、多发病", "长期从事内科临床工作，擅长呼吸、消化系统常见病诊治。"),
    "03.01": ("慢阻肺、哮喘、肺部感染", "擅长慢性阻塞性肺疾病、支气管哮喘的规范化治疗与随访。"),
    "03.02": ("胃食管反流、慢性胃炎、消化道早癌", "擅长消化系统疾病诊治及胃肠镜检查。"),
    "03.03": ("脑卒中、头痛、癫痫", "擅长脑血管病二级预防和头痛、眩晕的诊治。"),
    "03.04": ("冠心病、高血压、心力衰竭", "擅长高血压、冠心病的长期管理和心衰随访。"),
    "03.07": ("糖尿病、甲状腺疾病", "擅长糖尿病综合管理、甲状腺结节与甲亢诊治。"),
    "04": ("外科常见病、创伤处理", "从事普通外科临床工作，擅长腹部外科及创伤处理。"),
    "04.01": ("甲状腺、乳腺、疝", "擅长甲状腺及乳腺疾病的外科治疗。"),
    "04.03": ("颈腰椎病、关节退变、运动损伤", "擅长脊柱退行性疾病和关节疾病的诊治与康复指导。"),
    "05.01": ("妇科炎症、月经失调、子宫肌瘤", "擅长妇科常见病和妇科内分泌疾病。"),
    "05.02": ("孕期保健、高危妊娠", "从事产科临床工作，擅长高危妊娠管理。"),
    "07": ("儿童呼吸道感染、过敏性疾病", "擅长小儿呼吸系统疾病、哮喘和过敏性疾病。"),
    "10": ("白内障、青光眼、儿童近视", "擅长白内障与青光眼诊治及儿童近视防控。"),
    "11": ("鼻炎、鼻窦炎、中耳炎", "擅长慢性鼻炎、鼻窦炎和耳部疾病的诊治。"),
    "12": ("龋病、牙周病、口腔修复", "擅长牙体牙髓病和牙周病治疗。"),
    "13": ("湿疹、痤疮、银屑病", "擅长湿疹、痤疮、银屑病等常见皮肤病的诊治。"),
    "15": ("抑郁障碍、焦虑障碍、失眠", "擅长抑郁、焦虑和睡眠障碍的诊治与随访。"),
    "16": ("病毒性肝炎、发热待查", "擅长病毒性肝炎和感染性疾病的诊治。"),
}

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董潘"
GIVEN_NAMES = (
    "建华",
    "丽娟",
    "志强",
    "秀英",
    "海涛",
    "晓燕",
    "文博",
    "静怡",
    "国平",
    "雪梅",
    "立新",
    "婷婷",
    "卫东",
    "春兰",
    "俊杰",
    "雅琴",
    "振宇",
    "慧敏",
    "德明",
    "玉珍",
    "宏伟",
    "思雨",
    "永刚",
    "红霞",
    "子轩",
    "淑芬",
    "明辉",
    "佳怡",
    "光荣",
    "美玲",
    "浩然",
    "桂英",
    "天佑",
    "欣然",
    "家豪",
    "凤英",
)
TITLE_CYCLE = ("主任医师", "副主任医师", "主治医师", "主治医师", "副主任医师", "住院医师")
SEX_BY_GIVEN_NAME_END = set("华强涛博平新东杰宇明伟刚辉荣然佑豪")


@dataclass(frozen=True)
class PatientSeed:
    name: str
    mobile: str
    region: str
    birth: str
    sequence: str
    family: tuple[tuple[str, str, str, str, str], ...]  # name, relationship, region, birth, seq

    @property
    def members(self) -> tuple[tuple[str, str, str, str, str], ...]:
        """The 就诊人 of this account: the patient, then the family."""
        return ((self.name, "self", self.region, self.birth, self.sequence), *self.family)


PATIENTS = (
    PatientSeed(
        "李明",
        "13900000001",
        "420106",
        "19880412",
        "051",
        (
            ("李小雨", "child", "420106", "20190823", "042"),
            ("李国强", "parent", "420102", "19580304", "013"),
        ),
    ),
    PatientSeed(
        "王芳",
        "13900000002",
        "110105",
        "19921130",
        "064",
        (
            ("王子涵", "child", "110105", "20220315", "021"),
            ("陈秀兰", "parent", "110108", "19550719", "048"),
        ),
    ),
    PatientSeed(
        "张伟",
        "13900000003",
        "420111",
        "19751008",
        "137",
        (("张桂英", "parent", "420111", "19460121", "062"),),
    ),
)


# 多点执业: doctor number -> (institution, department, filing number) of a second practice site,
# each with the registered institution's consent on file.
SECOND_SITES = {
    0: ("wh-c", "02", "鄂多点执业备案 2025-0107"),
    16: ("bj-c", "02", "京多点执业备案 2025-0231"),
    18: ("bj-b", "03", "京多点执业备案 2025-0318"),
    24: ("bj-a", "03.02", "京多点执业备案 2024-1125"),
}
# Residents who started practising one and two years ago: under R05's three years, never online.
RECENT_STARTS = {5: 1, 17: 2}


def resident_id(region: str, birth: str, sequence: str) -> str:
    """A well-formed GB 11643 number: region, birth date, sequence and its check character."""
    first17 = f"{region}{birth}{sequence}"
    return first17 + check_character(first17)


async def load_demo_data(session: AsyncSession, actor: Actor, *, settings: Settings) -> DemoSummary:
    """Fill an empty database with the demo data set and return every login (one of each role
    featured, to be printed)."""
    today = actor.clock.today_local()
    institutions = await _institutions(session, actor, today)
    main = institutions["wh-a"]
    summary = DemoSummary(institutions=len(institutions))
    summary.logins += [
        await _staff(session, actor, "platform_admin", "平台管理员", 1),
        await _staff(session, actor, "regulator", "武汉市卫健委监管员", 2, region_code="420100"),
        await _staff(session, actor, "pharmacist", "周药师", 3, main),
        await _staff(session, actor, "nurse", "刘护士", 4, main),
    ]
    for number, seed in enumerate(INSTITUTIONS, start=10):
        summary.logins.append(
            await _staff(
                session,
                actor,
                "institution_admin",
                f"{seed.name}管理员",
                number,
                institutions[seed.key],
                featured=seed.key == "wh-a",
            )
        )
    doctors = await _doctors(session, actor, institutions, today)
    summary.doctors = len(doctors)
    summary.logins += doctors
    summary.patients, patients, people = await _patients(session, actor, settings)
    summary.logins += patients
    await _bills(session, actor, settings, institutions, people)
    await _schedules(session, actor, institutions["wh-a"], today)
    await _services(session, actor, institutions["wh-a"], today)
    walk = await load_prescription_demo(
        session,
        actor,
        settings=settings,
        institution=main,
        doctor=await _featured_doctor(session),
        patient=people["李明"],
        relative=people["李国强"],
        password=DEMO_PASSWORD,
    )
    await load_prescreening_demo(session, actor, institutions=institutions, patient=people["张伟"])
    summary.logins = [_with_start(login, walk) for login in summary.logins]
    return summary


async def _featured_doctor(session: AsyncSession) -> Practitioner:
    """The first doctor of the demo (index 0, the featured one)."""
    doctor = await session.scalar(select(Practitioner).order_by(Practitioner.id).limit(1))
    assert doctor is not None  # made by _doctors
    return doctor


def _with_start(login: DemoLogin, walk: PrescriptionDemo) -> DemoLogin:
    """The featured doctor, pharmacist and patient start on their step of a prescription."""
    starts = {
        "doctor": f"/doctor/consultations/{walk.consultation_id}/prescription",
        "pharmacist": "/pharmacist/prescriptions",
        "patient": f"/prescriptions/{walk.prescription_id}/buy",
    }
    if not login.featured or login.role not in starts:
        return login
    return replace(login, start=starts[login.role])


async def _institutions(session: AsyncSession, actor: Actor, today: date) -> dict[str, Institution]:
    created: dict[str, Institution] = {}
    for seed in INSTITUTIONS:
        institution = await create_institution(
            session,
            actor,
            name=seed.name,
            level=seed.level,
            region_code=seed.region_code,
            region_name=seed.region_name,
            address=seed.address,
            phone=seed.phone,
            is_internet_hospital=bool(seed.internet_licence),
            internet_licence_number=seed.internet_licence,
            internet_licence_expires_on=(
                date(today.year + 3, 12, 31) if seed.internet_licence else None
            ),
            upper_institution_id=created[seed.upper].id if seed.upper else None,
        )
        for code in seed.departments:
            await add_department(
                session,
                actor,
                institution_id=institution.id,
                department_code=code,
                offers_online=bool(seed.internet_licence),
            )
        created[seed.key] = institution
    return created


async def _staff(
    session: AsyncSession,
    actor: Actor,
    role: str,
    name: str,
    number: int,
    institution: Institution | None = None,
    *,
    region_code: str | None = None,
    featured: bool = True,
) -> DemoLogin:
    mobile = f"1380000{number:04d}"
    await create_account(
        session,
        actor,
        mobile=mobile,
        password=DEMO_PASSWORD,
        role=role,
        display_name=name,
        institution_id=institution.id if institution else None,
        region_code=region_code,
        mobile_verified=True,
    )
    return DemoLogin(
        role, name, mobile, place=institution.name if institution else "", featured=featured
    )


def _doctor_status(index: int) -> tuple[str, ...]:
    """Most doctors verified; a few waiting for review, one rejected, one still a draft."""
    if index in (7, 19, 31):
        return ("submit",)
    if index == 25:
        return ("submit", "reject")
    if index == 35:
        return ()
    return ("submit", "verify")


def _practice_start(index: int, today: date) -> date:
    if index in RECENT_STARTS:
        return date(today.year - RECENT_STARTS[index], 7, 1)
    return date(1990 + (index * 7) % 26, 7, 1)


async def _doctors(
    session: AsyncSession, actor: Actor, institutions: dict[str, Institution], today: date
) -> list[DemoLogin]:
    logins: list[DemoLogin] = []
    placements = [
        (seed, code) for seed in INSTITUTIONS for code in seed.departments if code in SPECIALTIES
    ]
    for index, given in enumerate(GIVEN_NAMES):
        seed, department = placements[index % len(placements)]
        institution = institutions[seed.key]
        name = SURNAMES[index % len(SURNAMES)] + given
        title = TITLE_CYCLE[index % len(TITLE_CYCLE)]
        started = _practice_start(index, today)
        second = SECOND_SITES.get(index)
        sites = (
            [
                SiteInput(
                    institution_id=institutions[second[0]].id,
                    department_code=second[1],
                    filing_number=second[2],
                    consent_on_file=True,
                )
            ]
            if second
            else []
        )
        specialties, introduction = SPECIALTIES[department]
        mobile = f"1370000{index + 1:04d}"
        view = await create_practitioner(
            session,
            actor,
            institution_id=institution.id,
            name=name,
            sex="male" if given[-1] in SEX_BY_GIVEN_NAME_END else "female",
            mobile=mobile,
            password=DEMO_PASSWORD,
            licence_number=f"1{seed.region_code[:2]}{started.year}{index + 1:08d}",
            title=title,
            practice_start_date=started,
            department_code=department,
            specialties=specialties,
            introduction=f"{title}。{introduction}",
            practice_sites=sites,
        )
        for step in _doctor_status(index):
            if step == "submit":
                await submit_for_review(session, actor, practitioner_id=view.id)
            else:
                await decide_review(
                    session,
                    actor,
                    practitioner_id=view.id,
                    decision=step,
                    note="执业证书照片不清晰，请重新上传。" if step == "reject" else "证照核验通过",
                )
        logins.append(
            DemoLogin("doctor", name, mobile, place=institution.name, featured=index == 0)
        )
    return logins


async def _patients(
    session: AsyncSession, actor: Actor, settings: Settings
) -> tuple[int, list[DemoLogin], dict[str, Patient]]:
    """The patients' accounts, each managing the 就诊人 of the family; returns how many 就诊人,
    the logins and the 就诊人 by name."""
    cipher = FieldCipher(settings.field_key, settings.blind_index_key)
    provider = make_realname_provider(settings)
    count = 0
    logins: list[DemoLogin] = []
    people: dict[str, Patient] = {}
    for number, seed in enumerate(PATIENTS):
        account = await create_account(
            session,
            actor,
            mobile=seed.mobile,
            password=DEMO_PASSWORD,
            role="patient",
            display_name=seed.name,
            mobile_verified=True,
        )
        owner = Actor(role="patient", clock=actor.clock, account_id=account.id, request_id="demo")
        for name, relationship, region, birth, sequence in seed.members:
            people[name] = await add_patient(
                session,
                owner,
                name=name,
                relationship=relationship,
                id_number=resident_id(region, birth, sequence),
                mobile=seed.mobile if relationship == "self" else None,
                cipher=cipher,
                provider=provider,
            )
            count += 1
        logins.append(DemoLogin("patient", seed.name, seed.mobile, featured=number == 0))
    return count, logins, people


# The bills: whose, where, and their lines (kind, description, unit price in fen, quantity,
# drug class); consultation lines are online follow-up visits (复诊).
UNPAID_BILLS = (
    (
        "李明",
        "wh-a",
        (
            ("consultation", "图文复诊 心血管内科", 3000, 1, None),
            ("drug", "苯磺酸氨氯地平片 5mg×28片", 2850, 2, "A"),
            ("drug", "阿托伐他汀钙片 20mg×7片", 4580, 1, "B"),
            ("drug", "维生素 D3 滴剂", 1990, 1, "C"),
            ("delivery", "药品配送费", 800, 1, None),
        ),
    ),
    (
        "李国强",
        "wh-a",
        (
            ("consultation", "图文复诊 内分泌科", 3000, 1, None),
            ("drug", "盐酸二甲双胍片 0.5g×48片", 1260, 3, "A"),
        ),
    ),
)
PAID_BILL = ("张伟", "wh-b", (("registration", "挂号费 普通内科", 1200, 1, None),))
COVERAGES = (
    # 就诊人, insurance type, insured region, insurance number, personal account balance (fen)
    ("李明", "employee", "420106", "42010619880412051", 86_000),
    ("李国强", "resident", "420102", "42010219580304013", 0),
)


async def _bills(
    session: AsyncSession,
    actor: Actor,
    settings: Settings,
    institutions: dict[str, Institution],
    people: dict[str, Patient],
) -> None:
    """Coverages, the unpaid bills (held a day) and the paid bill of the demo."""
    cipher = FieldCipher(settings.field_key, settings.blind_index_key)
    today = actor.clock.today_local()
    for name, insurance_type, region, number, balance in COVERAGES:
        patient = people[name]
        await add_coverage(
            session,
            Actor(role="patient", clock=actor.clock, account_id=patient.account_id),
            patient_id=patient.id,
            insurance_type=insurance_type,
            region_code=region,
            insurance_number=number,
            account_balance_fen=balance,
            valid_from=date(today.year, 1, 1),
            valid_to=None,
            cipher=cipher,
        )
    for key, (name, place, lines) in enumerate((*UNPAID_BILLS, PAID_BILL)):
        order = await create_order(
            session,
            actor,
            patient_id=people[name].id,
            institution_id=institutions[place].id,
            lines=[
                LineItem(
                    kind,
                    "demo",
                    f"{key}.{position}",
                    description,
                    price,
                    quantity,
                    drug_class=drug_class,
                    online_follow_up=kind in ("consultation", "drug"),
                )
                for position, (kind, description, price, quantity, drug_class) in enumerate(lines)
            ],
            hold_minutes=MAX_HOLD_MINUTES,
            idempotency_key=f"demo-bill-{key}",
        )
    # the last bill is paid through the payment sandbox, as a payer would
    providers = make_payment_providers(settings, actor.clock)
    payer = Actor(role="patient", clock=actor.clock, account_id=order.account_id)
    payment = await start_payment(
        session,
        payer,
        order_id=order.id,
        channel="sandbox",
        idempotency_key="demo-payment",
        providers=providers,
    )
    provider = providers["sandbox"]
    await provider.pay(payment.pay_url.rsplit("/", 1)[1], plan="never")
    trade = await provider.query(out_trade_no=payment.out_trade_no)
    await apply_trade(session, actor, payment_id=payment.id, trade=trade)


SENIOR_TITLES = ("主任医师", "副主任医师")
SCHEDULE_DAYS = 7  # the default release window: 7 days ahead


async def _schedules(
    session: AsyncSession, actor: Actor, institution: Institution, today: date
) -> None:
    """Morning sessions from tomorrow for a week for each verified doctor registered here: 专家号
    (¥50) for senior titles, 普通号 (¥12) otherwise; 08:00–11:20 in twenty 10-minute slots."""
    doctors = await session.execute(
        select(Practitioner.id, Practitioner.title, PracticeSite.department_code)
        .join(PracticeSite, PracticeSite.practitioner_id == Practitioner.id)
        .where(
            PracticeSite.institution_id == institution.id,
            PracticeSite.is_primary,
            Practitioner.verification_status == "verified",
        )
        .order_by(Practitioner.id)
    )
    days = [today + timedelta(days=offset) for offset in range(1, SCHEDULE_DAYS + 1)]
    for practitioner_id, title, department in doctors.all():
        senior = title in SENIOR_TITLES
        await create_sessions(
            session,
            actor,
            institution_id=institution.id,
            plan=SessionPlan(
                practitioner_id=practitioner_id,
                department_code=department,
                half_day="morning",
                start_time=time(8, 0),
                end_time=time(11, 20),
                visit_type="in_person",
                fee_class="expert" if senior else "general",
                fee_fen=5000 if senior else 1200,
                capacity=20,
                slot_minutes=10,
            ),
            days=days,
        )


# 武汉江城医院's vaccinations and check-ups, each with the morning or afternoon it runs on
SERVICES = (
    (
        ResourceInput(
            kind="vaccination",
            name="流感疫苗接种",
            department_code="01",
            vaccine="四价流感疫苗 第1剂",
            fee_fen=12800,
            min_age_years=3,
            preparation="请携带身份证或户口本；接种后需留观 30 分钟。",
        ),
        WindowPlan("morning", time(8, 0), time(11, 30), slot_minutes=30, places_per_slot=20),
    ),
    (
        ResourceInput(
            kind="checkup",
            name="入职体检套餐",
            department_code="01",
            package_items="一般检查、内科、外科、血常规、尿常规、肝功能、胸部正位片、心电图",
            fee_fen=19900,
            min_age_years=16,
            preparation="体检前一天清淡饮食，当天需空腹（禁食 8 小时以上）。",
        ),
        WindowPlan("morning", time(7, 30), time(10, 30), slot_minutes=30, places_per_slot=10),
    ),
    (
        ResourceInput(
            kind="checkup",
            name="女性健康体检套餐",
            department_code="05.01",
            package_items="妇科检查、宫颈TCT、HPV检测、乳腺彩超、盆腔彩超",
            fee_fen=48000,
            min_age_years=18,
            sex="female",
            preparation="请避开月经期；检查前 3 天避免阴道用药。",
        ),
        WindowPlan("afternoon", time(14, 0), time(16, 0), slot_minutes=60, places_per_slot=5),
    ),
)


async def _services(
    session: AsyncSession, actor: Actor, institution: Institution, today: date
) -> None:
    """The hospital's 预防保健科 and its vaccinations and check-up packages, with sessions from
    tomorrow for a week (like the doctors')."""
    await add_department(
        session, actor, institution_id=institution.id, department_code="01", local_name="预防保健科"
    )
    days = [today + timedelta(days=offset) for offset in range(1, SCHEDULE_DAYS + 1)]
    for values, window in SERVICES:
        resource = await create_resource(
            session, actor, institution_id=institution.id, values=values
        )
        await create_resource_sessions(
            session,
            actor,
            institution_id=institution.id,
            resource_id=resource.id,
            window=window,
            days=days,
        )
