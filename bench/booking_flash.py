"""Booking under load on PostgreSQL: steady throughput (B1) and a flash crowd at 放号 (B2),
beside the floors of the database and of the HTTP server measured in the same run.

The benchmark creates the database named by ``--url`` (it must not exist yet), migrates it and
fills it in bulk: institutions, verified doctors with their practice sites, sessions with fee 0
(created through :func:`ihospital.booking.schedules.create_sessions`, so bookings confirm at
once), and one patient account per 就诊人 with a real-named 就诊人 and an API token minted as
the app mints them (only the token's digest stored), instead of thousands of logins. Each
account books from its own phone: its own user agent and a client address of its own in
127.0.0.0/8 (which Linux routes to loopback; httpx binds it), ordinary accounts four to an
address, the scalpers' few accounts on two addresses, so the app's per-IP and per-account
limits and its per-device scalper flags act as in production, with the app's default limits.
It then serves the app with uvicorn in ``--workers`` processes on a free port, with the
keep-alive timeout and listen backlog of ``ihospital serve``, and measures:

- Floor F_db: the app's own booking SQL sent straight to PostgreSQL with asyncpg over as many
  connections as the app's pools hold (workers × pool size). The SQL is not written by hand: two
  bookings are first made through the app in this process (over ASGI, from the bookers'
  addresses) while a SQLAlchemy ``before_cursor_execute`` hook records every statement they send
  (authentication, rules, the places, audit, outbox, fairness); the first booking's statements
  become templates whose values are placed by role (slot, session, doctor, day, 就诊人,
  account, token digest, address, device hash, idempotency key, request id, and the appointment
  id the INSERT returns; moments move with the clock), and the second booking must give back
  exactly its own statements from them, or the bench stops. The floor replays the templates, one
  transaction per booking, for other bookers and slots, so it follows the app's SQL as that
  changes. What it wrote is removed before B1 (the audit trail is append-only and keeps its
  entries).
- Floor F_http: ``/healthz`` (no database) of the same server under the same HTTP client.
- B1: doctor-days × 50 slots booked by distinct 就诊人 at a fixed arrival rate (an open model:
  latency counts from the moment a request was due, so queueing is not hidden), stepped up until
  the bookings per second stop following the offered rate, then one step at half the best rate.
- B2: one doctor-day of 300 slots released at one instant; 6,000 distinct 就诊人 arrive within
  one second, each asking for a slot of the published day, with 500 retries of a few scalper
  accounts among them (at least 25 per account in a quick run, over the per-account limit).
  Afterwards the database is checked: every slot sold once, no 就诊人 twice, every refusal a
  4xx problem with a code, no 5xx, and the scalpers got 429s (rate limits); the 429s of the
  crowd are counted.

Nothing asserts a time: targets are printed with "met" or "not met". Run:
``python bench/booking_flash.py --url postgresql://postgres@127.0.0.1:5432/bench_booking
[--workers N] [--scale S] [--step-seconds T] [--keep]``; ``--url`` defaults to
IHOSPITAL_BENCH_DATABASE_URL. ``--scale 0.05`` is a quick run. The database is dropped at the
end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import math
import os
import random
import re
import secrets
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy import event, func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ihospital.app import create_app
from ihospital.booking.fairness.limits import DEVICE_PURPOSE
from ihospital.booking.models import ACTIVE_STATUSES, Appointment, Slot
from ihospital.booking.rules import DEFAULTS, set_rules
from ihospital.booking.schedules import SessionPlan, create_sessions
from ihospital.cli.support import KEEP_ALIVE_SECONDS, LISTEN_BACKLOG
from ihospital.config import Settings
from ihospital.core.clock import Clock, to_local
from ihospital.core.context import Actor
from ihospital.core.ids import check_character, mask_resident_id
from ihospital.db import make_engine, make_sessionmaker
from ihospital.directory.departments import add_department
from ihospital.directory.institutions import create_institution
from ihospital.directory.models import PracticeSite, Practitioner
from ihospital.directory.pinyin import name_pinyin
from ihospital.identity.models import Account, AuthSession, Patient
from ihospital.identity.patients import ID_NUMBER_PURPOSE
from ihospital.migrate import upgrade
from ihospital.security.crypto import FieldCipher, new_token, token_digest
from ihospital.security.passwords import hash_password

DEPARTMENT = "03"  # 内科
B1_SLOTS_PER_DAY = 50
B1_DAYS_PER_DOCTOR = 5  # days 1–5 from today: released under the default rules (7 days ahead)
B2_SLOTS = 300
B2_PATIENTS = 6000
B2_SCALPER_RETRIES = 500
SCALPER_ACCOUNTS = 5
SCALPER_PATIENTS_EACH = 10  # the most 就诊人 an account may hold
SCALPER_RETRIES_AT_LEAST = 25  # per account, over the per-account limit even in a quick run
SCALPER_IPS = 2  # the scalpers' accounts share a couple of addresses
PATIENTS_PER_IP = 4  # ordinary 就诊人 behind one address (a household, a carrier's NAT)
# Second octet of each crowd's client addresses: Linux routes all of 127.0.0.0/8 to loopback, so
# every simulated phone can have its own address and the app's per-IP limits count as in
# production.
B1_NETWORK, B2_NETWORK, SCALPER_NETWORK = 1, 2, 3
HTTP_CONNECTIONS = 256  # of the F_http client
CONNECTIONS_PER_IP = 8
HTTP_FLOOR_CONCURRENCY = 64
SATURATED = 0.9  # a step is saturated when bookings/s fall below this share of the offered rate
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚华建国玉志红文"

APPEND_ONLY_TABLES = ("audit_entries", "audit_seals")
FIRST_APPOINTMENT_ID = 1_000_001


@dataclass(frozen=True)
class Booker:
    """A 就诊人, the bearer token of its account, and the client IP address and user agent of
    the phone the account books from."""

    account_id: int
    patient_id: int
    token: str
    ip: str
    user_agent: str


@dataclass(frozen=True)
class BookableSlot:
    slot_id: int
    session_id: int
    institution_id: int
    practitioner_id: int
    day: date


@dataclass(frozen=True)
class Outcome:
    due: float  # loop time the request was due (open model) or sent (closed loop)
    done: float
    status: int  # 0: no HTTP answer
    code: str  # the problem code of a refusal, or the transport error

    @property
    def latency(self) -> float:
        return self.done - self.due


@dataclass
class World:
    b1_slots: list[BookableSlot] = field(default_factory=list)
    b1_bookers: list[Booker] = field(default_factory=list)
    b2_institution_id: int = 0
    b2_session_id: int = 0
    b2_day: date = date.min
    b2_slot_ids: list[int] = field(default_factory=list)
    b2_bookers: list[Booker] = field(default_factory=list)
    scalpers: list[list[Booker]] = field(default_factory=list)


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return math.nan
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f} ms"


def verdict(met: bool) -> str:
    return "met" if met else "NOT met"


# --- database -------------------------------------------------------------------------------


def plain_dsn(url: str) -> str:
    """The URL as asyncpg takes it (``postgresql://``, no SQLAlchemy driver)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def create_database(url: str) -> None:
    parsed = make_url(url)
    admin = await asyncpg.connect(plain_dsn(str(parsed.set(database="postgres"))))
    try:
        await admin.execute(f'CREATE DATABASE "{parsed.database}"')
    finally:
        await admin.close()


async def drop_database(url: str) -> None:
    parsed = make_url(url)
    admin = await asyncpg.connect(plain_dsn(str(parsed.set(database="postgres"))))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
    finally:
        await admin.close()


def _person_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2))))


def client_address(network: int, host: int) -> str:
    """The ``host``-th client address (from 0) of ``network`` in 127.0.0.0/8."""
    return f"127.{network}.{host // 250}.{host % 250 + 1}"


def user_agent(account: int) -> str:
    """The user agent of the ``account``-th account's phone (one phone per account)."""
    return f"Mozilla/5.0 (Linux; Android 14; Phone {account:06d}) ihospital-app/1.0"


def _resident_id(n: int) -> str:
    """A valid, distinct 18-digit resident ID number for the n-th 就诊人 (adults)."""
    birth = date(1960, 1, 1) + timedelta(days=n // 999)
    first17 = f"110105{birth:%Y%m%d}{n % 999 + 1:03d}"
    return first17 + check_character(first17)


async def add_institution(factory: async_sessionmaker[AsyncSession], name: str) -> int:
    actor = Actor.system(Clock())
    async with factory() as session, session.begin():
        institution = await create_institution(
            session,
            actor,
            name=name,
            level="三级甲等",
            region_code="110105",
            region_name="北京市朝阳区",
            is_internet_hospital=True,
            internet_licence_number=f"{name}许可",
            internet_licence_expires_on=date.today() + timedelta(days=365),
        )
        await add_department(
            session, actor, institution_id=institution.id, department_code=DEPARTMENT
        )
        return institution.id


async def add_doctors(
    factory: async_sessionmaker[AsyncSession],
    institution_id: int,
    count: int,
    *,
    first: int,
    password_hash: str,
    rng: random.Random,
) -> list[int]:
    """``count`` verified doctors of ``institution_id``, written in bulk; their ids."""
    now = Clock().now()
    names = [_person_name(rng) for _ in range(count)]
    async with factory() as session, session.begin():
        account_ids = (
            await session.scalars(
                insert(Account).returning(Account.id),
                [
                    {
                        "mobile": f"136{first + n:08d}",
                        "password_hash": password_hash,
                        "role": "doctor",
                        "display_name": name,
                        "institution_id": institution_id,
                        "created_at": now,
                    }
                    for n, name in enumerate(names)
                ],
            )
        ).all()
        rows = []
        for n, (name, account_id) in enumerate(zip(names, account_ids, strict=True)):
            pinyin = name_pinyin(name)
            rows.append(
                {
                    "account_id": account_id,
                    "institution_id": institution_id,
                    "name": name,
                    "name_pinyin": pinyin.full,
                    "name_initials": pinyin.initials,
                    "sex": rng.choice(("male", "female")),
                    "licence_number": f"2{first + n:014d}",
                    "title": "主任医师",
                    "practice_start_date": date(2000, 7, 1),
                    "verification_status": "verified",
                    "verified_at": now,
                    "created_at": now,
                }
            )
        practitioner_ids = (
            await session.scalars(insert(Practitioner).returning(Practitioner.id), rows)
        ).all()
        await session.execute(
            insert(PracticeSite),
            [
                {
                    "practitioner_id": practitioner_id,
                    "institution_id": institution_id,
                    "department_code": DEPARTMENT,
                    "is_primary": True,
                }
                for practitioner_id in practitioner_ids
            ],
        )
    return list(practitioner_ids)


async def add_bookers(
    factory: async_sessionmaker[AsyncSession],
    cipher: FieldCipher,
    count: int,
    *,
    first: int,
    per_account: int,
    network: int,
    accounts_per_ip: int,
    password_hash: str,
    rng: random.Random,
) -> list[Booker]:
    """``count`` real-named 就诊人, ``per_account`` to a patient account, each account with an
    API token: the token is made and stored (as its digest) as signing in does. The accounts
    book from ``network``'s addresses, ``accounts_per_ip`` accounts to an address."""
    clock = Clock()
    now = clock.now()
    bookers: list[Booker] = []
    batch = 1000
    for start in range(0, count, batch):
        size = min(batch, count - start)
        accounts = math.ceil(size / per_account)
        async with factory() as session, session.begin():
            base = first + start
            account_ids = (
                await session.scalars(
                    insert(Account).returning(Account.id),
                    [
                        {
                            "mobile": f"137{base + n:08d}",
                            "password_hash": password_hash,
                            "role": "patient",
                            "display_name": f"用户{base + n}",
                            "mobile_verified_at": now,
                            "created_at": now,
                        }
                        for n in range(accounts)
                    ],
                )
            ).all()
            tokens = [new_token() for _ in account_ids]
            await session.execute(
                insert(AuthSession),
                [
                    {
                        "account_id": account_id,
                        "kind": "api",
                        "token_hash": token_digest(token),
                        "created_at": now,
                        "expires_at": now + timedelta(hours=24),
                        "ip": "127.0.0.1",
                        "user_agent": "booking_flash",
                    }
                    for account_id, token in zip(account_ids, tokens, strict=True)
                ],
            )
            rows = []
            owners = []
            for n in range(size):
                number = _resident_id(base + n)
                owner = n // per_account
                owners.append(owner)
                rows.append(
                    {
                        "account_id": account_ids[owner],
                        "name": _person_name(rng),
                        "relationship": "self" if n % per_account == 0 else "other",
                        "id_number_cipher": cipher.encrypt(number, purpose=ID_NUMBER_PURPOSE),
                        "id_number_index": cipher.blind_index(number, purpose=ID_NUMBER_PURPOSE),
                        "id_number_masked": mask_resident_id(number),
                        "birth_date": date(
                            int(number[6:10]), int(number[10:12]), int(number[12:14])
                        ),
                        "sex": "male" if int(number[16]) % 2 else "female",
                        "realname_status": "verified",
                        "realname_verified_at": now,
                        "realname_reason": "",
                        "is_active": True,
                        "created_at": now,
                    }
                )
            patient_ids = (await session.scalars(insert(Patient).returning(Patient.id), rows)).all()
            bookers.extend(
                Booker(
                    account_ids[owner],
                    patient_id,
                    tokens[owner],
                    client_address(network, (start // per_account + owner) // accounts_per_ip),
                    user_agent(base // per_account + owner),
                )
                for owner, patient_id in zip(owners, patient_ids, strict=True)
            )
    return bookers


async def add_sessions(
    factory: async_sessionmaker[AsyncSession],
    institution_id: int,
    practitioner_id: int,
    days: list[date],
    slots: int,
    slot_minutes: int,
) -> list[BookableSlot]:
    """Fee-0 morning sessions of ``slots`` slots with one place each, through the schedules
    service; the slots in order of time."""
    start = clock_time(8, 0)
    end = (datetime.combine(date.min, start) + timedelta(minutes=slots * slot_minutes)).time()
    plan = SessionPlan(
        practitioner_id=practitioner_id,
        department_code=DEPARTMENT,
        half_day="morning",
        start_time=start,
        end_time=end,
        visit_type="in_person",
        fee_class="expert",
        fee_fen=0,
        capacity=slots,
        slot_minutes=slot_minutes,
    )
    async with factory() as session, session.begin():
        views = await create_sessions(
            session, Actor.system(Clock()), institution_id=institution_id, plan=plan, days=days
        )
    return [
        BookableSlot(slot.id, view.session.id, institution_id, practitioner_id, view.session.day)
        for view in views
        for slot in view.slots
    ]


async def seed(
    factory: async_sessionmaker[AsyncSession], cipher: FieldCipher, scale: float, doctor_days: int
) -> World:
    rng = random.Random(20261201)
    password_hash = hash_password("Bench-pass-123")
    world = World()
    today = Clock().today_local()
    b1_institution = await add_institution(factory, "基准挂号医院")
    doctors = math.ceil(doctor_days / B1_DAYS_PER_DOCTOR)
    practitioners = await add_doctors(
        factory, b1_institution, doctors, first=0, password_hash=password_hash, rng=rng
    )
    by_session: dict[int, list[BookableSlot]] = {}
    remaining = doctor_days
    for practitioner_id in practitioners:
        days = [today + timedelta(days=1 + n) for n in range(min(B1_DAYS_PER_DOCTOR, remaining))]
        remaining -= len(days)
        for slot in await add_sessions(
            factory, b1_institution, practitioner_id, days, B1_SLOTS_PER_DAY, 5
        ):
            by_session.setdefault(slot.session_id, []).append(slot)
    # Consecutive bookings go to different doctor-days, as a city's patients do.
    world.b1_slots = [slot for column in zip(*by_session.values(), strict=True) for slot in column]
    world.b1_bookers = await add_bookers(
        factory,
        cipher,
        len(world.b1_slots),
        first=0,
        per_account=1,
        network=B1_NETWORK,
        accounts_per_ip=PATIENTS_PER_IP,
        password_hash=password_hash,
        rng=rng,
    )

    b2_slots = max(2, round(B2_SLOTS * scale))
    world.b2_institution_id = await add_institution(factory, "基准放号医院")
    (famous,) = await add_doctors(
        factory, world.b2_institution_id, 1, first=doctors, password_hash=password_hash, rng=rng
    )
    # Tomorrow at the earliest, and the day after release day (set when B2 starts).
    world.b2_day = today + timedelta(days=2)
    sold = await add_sessions(factory, world.b2_institution_id, famous, [world.b2_day], b2_slots, 1)
    world.b2_session_id = sold[0].session_id
    world.b2_slot_ids = [slot.slot_id for slot in sold]
    world.b2_bookers = await add_bookers(
        factory,
        cipher,
        max(b2_slots * 2, round(B2_PATIENTS * scale)),
        first=len(world.b1_bookers),
        per_account=1,
        network=B2_NETWORK,
        accounts_per_ip=PATIENTS_PER_IP,
        password_hash=password_hash,
        rng=rng,
    )
    scalpers = await add_bookers(
        factory,
        cipher,
        SCALPER_ACCOUNTS * SCALPER_PATIENTS_EACH,
        first=len(world.b1_bookers) + len(world.b2_bookers),
        per_account=SCALPER_PATIENTS_EACH,
        network=SCALPER_NETWORK,
        accounts_per_ip=math.ceil(SCALPER_ACCOUNTS / SCALPER_IPS),
        password_hash=password_hash,
        rng=rng,
    )
    world.scalpers = [
        scalpers[n : n + SCALPER_PATIENTS_EACH]
        for n in range(0, len(scalpers), SCALPER_PATIENTS_EACH)
    ]
    return world


# --- server ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_environment(url: str, folder: Path, keys: dict[str, str]) -> dict[str, str]:
    environment = dict(os.environ)
    environment.update(
        IHOSPITAL_DATABASE_URL=url,
        IHOSPITAL_DATA_DIR=str(folder),
        IHOSPITAL_LOG_LEVEL="WARNING",
        **{f"IHOSPITAL_{name.upper()}": value for name, value in keys.items()},
    )
    return environment


def start_server(
    url: str, workers: int, folder: Path, keys: dict[str, str]
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    log = (folder / "server.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "ihospital.app:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--no-access-log",
            "--log-level",
            "warning",
            # as `ihospital serve` runs it: idle connections kept longer than the phones keep
            # them (else a request sent as the server closes one is lost to a reset), and a
            # listen backlog for a crowd connecting at once
            "--timeout-keep-alive",
            str(KEEP_ALIVE_SECONDS),
            "--backlog",
            str(LISTEN_BACKLOG),
        ],
        env=server_environment(url, folder, keys),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    return process, f"http://127.0.0.1:{port}"


async def wait_healthy(process: subprocess.Popen[bytes], base: str, folder: Path) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=2) as client:
        for _ in range(240):
            if process.poll() is not None:
                break
            try:
                if (await client.get("/healthz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.25)
    log = (folder / "server.log").read_text(errors="replace")
    raise SystemExit(f"the server did not answer /healthz:\n{log[-3000:]}")


def stop_server(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# --- load -----------------------------------------------------------------------------------


class Phones:
    """The simulated phones' HTTP clients: one per client address, made on first use, so each
    request leaves from its booker's own address (httpx binds the local address)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self._clients: dict[str, httpx.AsyncClient] = {}
        # one TLS context for all: httpx builds one per transport otherwise (about 20 ms of the
        # bench's CPU per phone, seconds in a flash crowd), though the app is served over HTTP
        self._tls = ssl.create_default_context()

    def client(self, ip: str) -> httpx.AsyncClient:
        if (client := self._clients.get(ip)) is None:
            limits = httpx.Limits(
                max_connections=CONNECTIONS_PER_IP, max_keepalive_connections=CONNECTIONS_PER_IP
            )
            transport = httpx.AsyncHTTPTransport(local_address=ip, limits=limits, verify=self._tls)
            client = httpx.AsyncClient(base_url=self.base, transport=transport, timeout=120)
            self._clients[ip] = client
        return client

    async def close(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()


async def post_booking(phones: Phones, booker: Booker, slot_id: int, due: float) -> Outcome:
    loop = asyncio.get_running_loop()
    try:
        response = await phones.client(booker.ip).post(
            "/api/appointments",
            json={
                "slot_id": slot_id,
                "patient_id": booker.patient_id,
                "idempotency_key": secrets.token_hex(8),
            },
            headers={"Authorization": f"Bearer {booker.token}", "User-Agent": booker.user_agent},
        )
    except httpx.HTTPError as exc:
        return Outcome(due, loop.time(), 0, type(exc).__name__)
    code = ""
    if response.status_code >= 400:
        try:
            code = str(response.json().get("code", ""))
        except ValueError:
            code = ""
    return Outcome(due, loop.time(), response.status_code, code)


async def open_load(
    phones: Phones,
    requests: Sequence[tuple[Booker, int]],
    rate: float,
    start: float | None = None,
) -> list[Outcome]:
    """Send ``requests`` at ``rate`` per second from loop time ``start`` whatever the answers
    (an open model); each outcome's latency counts from when it was due."""
    loop = asyncio.get_running_loop()
    start = loop.time() if start is None else start
    tasks = []
    for n, (booker, slot_id) in enumerate(requests):
        due = start + n / rate
        if (delay := due - loop.time()) > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(post_booking(phones, booker, slot_id, due)))
    return list(await asyncio.gather(*tasks))


@dataclass(frozen=True)
class Floor:
    rate: float
    p50: float
    p99: float


# --- floor F_db: the app's own booking SQL, replayed -------------------------------------------

BRACES = re.compile(r"\{|\}")  # doubled in the constant parts of a text template


@dataclass(frozen=True)
class Parameter:
    """How one parameter of a captured statement is made for another booking: a constant, the
    value of a role (``role``), a text with role values in it (``text``, a format string), or a
    moment, moved by as much time as has passed since the capture (``moment``)."""

    kind: str  # "constant", "role", "text" or "moment"
    value: object

    def make(self, roles: dict[str, object], texts: dict[str, str], shift: timedelta) -> object:
        if self.kind == "role":
            return roles[self.value]
        if self.kind == "text":
            return self.value.format_map(texts)
        if self.kind == "moment":
            return self.value + shift
        return self.value


@dataclass(frozen=True)
class Statement:
    """One statement; ``many``: sent once with several rows of parameters (``executemany``)."""

    sql: str
    rows: tuple[tuple[Parameter, ...], ...]
    many: bool
    returns_appointment: bool  # the appointment INSERT: the id it RETURNs is a role

    def values(
        self, roles: dict[str, object], texts: dict[str, str], shift: timedelta
    ) -> list[list[object]]:
        return [[p.make(roles, texts, shift) for p in row] for row in self.rows]


@dataclass(frozen=True)
class BookingScript:
    """The statements one successful booking issues, captured from the app, as templates."""

    statements: tuple[Statement, ...]
    captured_at: datetime
    written_tables: tuple[str, ...]  # in order of their first INSERT


def booking_roles(
    slot: BookableSlot, booker: Booker, cipher: FieldCipher, *, key: str, request_id: str
) -> dict[str, object]:
    """The values a booking's SQL depends on (the appointment id comes from its INSERT)."""
    return {
        "slot_id": slot.slot_id,
        "session_id": slot.session_id,
        "practitioner_id": slot.practitioner_id,
        "day": slot.day,
        "patient_id": booker.patient_id,
        "account_id": booker.account_id,
        "token_hash": token_digest(booker.token),
        "ip": booker.ip,
        "device_hash": cipher.blind_index(
            f"{booker.ip}\n{booker.user_agent}", purpose=DEVICE_PURPOSE
        ),
        "idempotency_key": key,
        "request_id": request_id,
    }


def role_texts(roles: dict[str, object]) -> dict[str, str]:
    return {
        name: value.isoformat() if isinstance(value, date) else str(value)
        for name, value in roles.items()
    }


def _template(
    value: object, roles: dict[str, object], other: object, other_roles: dict[str, object]
) -> Parameter:
    """The parameter ``value`` of a booking with ``roles``, as a template, knowing that another
    booking with ``other_roles`` sent ``other`` in its place."""
    if isinstance(value, datetime):
        return Parameter("moment", value)
    if not isinstance(value, bool) and isinstance(value, int | date | str):
        for name, role_value in roles.items():
            if type(role_value) is type(value) and (role_value, other_roles[name]) == (
                value,
                other,
            ):
                return Parameter("role", name)
    if isinstance(value, str):
        texts = role_texts(roles)
        found = sorted(texts.items(), key=lambda item: -len(item[1]))
        pattern = re.compile(
            "|".join(
                rf"(?<![0-9]){re.escape(text)}(?![0-9])"
                if isinstance(roles[name], int)
                else re.escape(text)
                for name, text in found
            )
        )
        by_text = {text: name for name, text in found}
        parts, last = [], 0
        for match in pattern.finditer(value):
            parts.append(BRACES.sub(lambda m: m.group() * 2, value[last : match.start()]))
            parts.append("{" + by_text[match.group()] + "}")
            last = match.end()
        if parts:
            parts.append(BRACES.sub(lambda m: m.group() * 2, value[last:]))
            return Parameter("text", "".join(parts))
    return Parameter("constant", value)


def _check(parameter: Parameter, value: object, roles: dict[str, object]) -> bool:
    """Whether ``parameter`` made for a booking with ``roles`` gives that booking's ``value``."""
    if parameter.kind == "moment":
        return isinstance(value, datetime)
    return parameter.make(roles, role_texts(roles), timedelta()) == value


def capture_pairs(
    pairs: list[tuple[BookableSlot, Booker]],
) -> tuple[list[tuple[BookableSlot, Booker]], list[tuple[BookableSlot, Booker]]]:
    """Two bookings to capture, from the end of ``pairs``, of different doctor-days and each
    with ids that differ from one another (so every value has one role), and the other pairs."""

    def ids(pair: tuple[BookableSlot, Booker]) -> list[int]:
        slot, booker = pair
        return [slot.slot_id, slot.session_id, slot.practitioner_id, booker.patient_id]

    usable = [n for n in range(len(pairs) - 1, -1, -1) if len(set(ids(pairs[n]))) == 4]
    for first in usable:
        for second in usable:
            if set(ids(pairs[first])).isdisjoint(ids(pairs[second])):
                chosen = [pairs[first], pairs[second]]
                rest = [pair for n, pair in enumerate(pairs) if n not in (first, second)]
                return chosen, rest
    raise SystemExit("the bench needs at least two doctors to capture the booking SQL")


async def capture_booking(
    url: str, keys: dict[str, str], cipher: FieldCipher, pairs: list[tuple[BookableSlot, Booker]]
) -> BookingScript:
    """Book the first two of ``pairs`` through the app (in this process, over ASGI, from the
    bookers' addresses) and record every statement each sends to PostgreSQL. The statements of
    the first booking become templates; the second booking must be the same statements with its
    own values, or the capture is refused (a value of the booking the templates cannot place)."""
    engine = make_engine(url)
    async with engine.begin() as connection:
        # appointment ids no other value of a booking takes (an id of 1 would also be a count)
        await connection.execute(
            text("SELECT setval(pg_get_serial_sequence('booking_appointments', 'id'), :at)"),
            {"at": FIRST_APPOINTMENT_ID - 1},
        )
    captured: list[list[tuple[str, bool, list[tuple[object, ...]]]]] = []

    def recorder(conn, cursor, statement, parameters, context, executemany) -> None:
        rows = parameters if executemany else [parameters or ()]
        captured[-1].append((statement, executemany, [tuple(row) for row in rows]))

    with tempfile.TemporaryDirectory() as folder:
        app = create_app(Settings(database_url=url, data_dir=Path(folder), **keys), engine=engine)
        event.listen(engine.sync_engine, "before_cursor_execute", recorder)
        bookings = []
        captured_at = datetime.now(UTC)
        try:
            for slot, booker in pairs[:2]:
                roles = booking_roles(
                    slot, booker, cipher, key=secrets.token_hex(8), request_id=uuid.uuid4().hex
                )
                transport = httpx.ASGITransport(app=app, client=(booker.ip, 40000))
                captured.append([])
                async with httpx.AsyncClient(transport=transport, base_url="http://b") as client:
                    response = await client.post(
                        "/api/appointments",
                        json={
                            "slot_id": slot.slot_id,
                            "patient_id": booker.patient_id,
                            "idempotency_key": roles["idempotency_key"],
                        },
                        headers={
                            "Authorization": f"Bearer {booker.token}",
                            "User-Agent": booker.user_agent,
                            "X-Request-ID": str(roles["request_id"]),
                        },
                    )
                if response.status_code != 201:
                    raise SystemExit(f"capturing a booking failed: {response.text}")
                roles["appointment_id"] = response.json()["id"]
                bookings.append(roles)
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", recorder)
            await engine.dispose()
    (first, second), (first_roles, second_roles) = captured, bookings
    shape = [(sql, many, len(rows)) for sql, many, rows in first]
    if shape != [(sql, many, len(rows)) for sql, many, rows in second]:
        raise SystemExit("two bookings through the app sent different statements")
    statements = []
    for (sql, many, rows), (_, _, other_rows) in zip(first, second, strict=True):
        templates = []
        for values, other_values in zip(rows, other_rows, strict=True):
            parameters = tuple(
                _template(value, first_roles, other, second_roles)
                for value, other in zip(values, other_values, strict=True)
            )
            for parameter, value in zip(parameters, other_values, strict=True):
                if not _check(parameter, value, second_roles):
                    raise SystemExit(f"cannot replay {sql!r}: {parameter} gave not {value!r}")
            templates.append(parameters)
        appointment = sql.startswith("INSERT INTO booking_appointments ")
        statements.append(Statement(sql, tuple(templates), many, appointment))
    if sum(statement.returns_appointment for statement in statements) != 1:
        raise SystemExit("a booking through the app did not insert one appointment")
    written = [m.group(1) for sql, _, _ in first if (m := re.match(r"INSERT INTO (\w+)", sql))]
    return BookingScript(tuple(statements), captured_at, tuple(dict.fromkeys(written)))


async def floor_db(
    dsn: str,
    connections: int,
    script: BookingScript,
    cipher: FieldCipher,
    pairs: list[tuple[BookableSlot, Booker]],
    seconds: float,
) -> tuple[Floor, int]:
    """The app's booking SQL (``script``) alone over ``connections`` connections for up to
    ``seconds`` (or until ``pairs`` run out), one transaction per booking as in the app; the
    transactions done. What they wrote is removed afterwards (the audit trail, append-only,
    keeps its entries), and the places they took are freed."""
    remaining: Iterator[tuple[BookableSlot, Booker]] = iter(pairs)
    latencies: list[float] = []
    pool = await asyncpg.create_pool(dsn, min_size=connections, max_size=connections)
    shift = datetime.now(UTC) - script.captured_at

    async def worker(deadline: float) -> None:
        async with pool.acquire() as connection:
            for slot, booker in remaining:
                if time.perf_counter() > deadline:
                    return
                roles = booking_roles(
                    slot, booker, cipher, key=secrets.token_hex(8), request_id=uuid.uuid4().hex
                )
                texts = role_texts(roles)
                started = time.perf_counter()
                async with connection.transaction():
                    for statement in script.statements:
                        rows = statement.values(roles, texts, shift)
                        if statement.many:
                            await connection.executemany(statement.sql, rows)
                        elif statement.returns_appointment:
                            returned = await connection.fetchrow(statement.sql, *rows[0])
                            roles["appointment_id"] = returned["id"]
                            texts["appointment_id"] = str(roles["appointment_id"])
                        else:
                            await connection.fetch(statement.sql, *rows[0])
                latencies.append(time.perf_counter() - started)

    try:
        started = time.perf_counter()
        await asyncio.gather(*(worker(started + seconds) for _ in range(connections)))
        elapsed = time.perf_counter() - started
        async with pool.acquire() as connection:
            for table in reversed(script.written_tables):
                if table not in APPEND_ONLY_TABLES:
                    await connection.execute(f"DELETE FROM {table}")
            await connection.execute("UPDATE booking_slots SET booked = 0 WHERE booked > 0")
            await connection.execute("VACUUM ANALYZE")
    finally:
        await pool.close()
    floor = Floor(len(latencies) / elapsed, percentile(latencies, 0.5), percentile(latencies, 0.99))
    return floor, len(latencies)


async def floor_http(client: httpx.AsyncClient, seconds: float) -> Floor:
    """``/healthz`` in a closed loop of :data:`HTTP_FLOOR_CONCURRENCY` for ``seconds``."""
    latencies: list[float] = []

    async def worker(deadline: float) -> None:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            response = await client.get("/healthz")
            response.raise_for_status()
            latencies.append(time.perf_counter() - started)

    for _ in range(50):  # open the connections and warm the workers
        await client.get("/healthz")
    started = time.perf_counter()
    await asyncio.gather(*(worker(started + seconds) for _ in range(HTTP_FLOOR_CONCURRENCY)))
    elapsed = time.perf_counter() - started
    return Floor(len(latencies) / elapsed, percentile(latencies, 0.5), percentile(latencies, 0.99))


@dataclass(frozen=True)
class Step:
    offered: float
    outcomes: list[Outcome]

    @property
    def successes(self) -> int:
        return sum(1 for outcome in self.outcomes if outcome.status == 201)

    @property
    def achieved(self) -> float:
        """Bookings per second, from the first due moment to the last answer."""
        span = max(o.done for o in self.outcomes) - min(o.due for o in self.outcomes)
        return self.successes / span if span > 0 else math.nan

    def line(self, label: str) -> str:
        latencies = [outcome.latency for outcome in self.outcomes]
        errors = Counter(f"{o.status} {o.code}".strip() for o in self.outcomes if o.status != 201)
        shown = ", ".join(f"{key}: {count}" for key, count in errors.most_common()) or "none"
        return (
            f"{label:10} offered {self.offered:7.1f}/s  booked {self.achieved:7.1f}/s "
            f"({self.successes}/{len(self.outcomes)})  p50 {ms(percentile(latencies, 0.5))} "
            f"p90 {ms(percentile(latencies, 0.9))} p99 {ms(percentile(latencies, 0.99))} "
            f"max {ms(max(latencies))}  errors: {shown}"
        )


async def throughput(
    phones: Phones, world: World, f_db: Floor, start_rate: float, step_seconds: float
) -> None:
    pairs = [(b, s.slot_id) for s, b in zip(world.b1_slots, world.b1_bookers, strict=True)]
    reserve = len(pairs) // 5  # kept for the step at half the best rate
    used = 0
    rate = start_rate
    steps: list[Step] = []
    print(f"\nB1 throughput: {len(pairs)} slots, one 就诊人 each; rate ×1.5 per step")
    while used < len(pairs) - reserve:
        count = min(max(1, round(rate * step_seconds)), len(pairs) - reserve - used)
        step = Step(rate, await open_load(phones, pairs[used : used + count], rate))
        used += count
        steps.append(step)
        print(step.line(f"step {len(steps)}"))
        saturated = step.achieved < SATURATED * rate
        if saturated:
            break
        rate *= 1.5
    else:
        print("(slots ran out before the bookings stopped following the offered rate)")
    best = max(step.achieved for step in steps)
    half_rate = best / 2
    count = min(len(pairs) - used, max(1, round(half_rate * step_seconds)))
    half = Step(half_rate, await open_load(phones, pairs[used : used + count], half_rate))
    print(half.line("half rate"))
    half_p99 = percentile([outcome.latency for outcome in half.outcomes], 0.99)
    print(f"max bookings/s {best:.1f} = {best / f_db.rate:.0%} of F_db ({f_db.rate:.0f} tps)")
    target = 0.4 * f_db.rate
    print(f"target bookings/s >= 0.4 × F_db = {target:.1f}: {verdict(best >= target)}")
    print(
        f"target p99 at half the max rate <= 5 × F_db p99 = {ms(5 * f_db.p99).strip()}: "
        f"{ms(half_p99).strip()}, {verdict(half_p99 <= 5 * f_db.p99)}"
    )


async def burst(
    phones: Phones,
    factory: async_sessionmaker[AsyncSession],
    world: World,
    f_db: Floor,
    f_http: Floor,
) -> None:
    rng = random.Random(300)
    slots = world.b2_slot_ids
    # Every 就诊人 picks a slot of the published day; each slot is picked equally often.
    picks = [slots[n % len(slots)] for n in range(len(world.b2_bookers))]
    rng.shuffle(picks)
    crowd = list(zip(world.b2_bookers, picks, strict=True))
    retries = max(
        round(B2_SCALPER_RETRIES * len(slots) / B2_SLOTS),
        SCALPER_ACCOUNTS * SCALPER_RETRIES_AT_LEAST,
    )
    scalping = [
        (rng.choice(world.scalpers[n % len(world.scalpers)]), rng.choice(slots))
        for n in range(retries)
    ]
    arrivals: list[tuple[Booker, int]] = crowd + scalping
    rng.shuffle(arrivals)
    scalper_accounts = {booker.account_id for account in world.scalpers for booker in account}

    # 放号: the day's slots open a few seconds from now (whole second, local time).
    release = datetime.fromtimestamp(math.ceil(time.time()) + 3, UTC)
    local = to_local(release)
    rules = replace(
        DEFAULTS,
        release_days_ahead=(world.b2_day - local.date()).days,
        release_time=local.time().replace(tzinfo=None),
    )
    async with factory() as session, session.begin():
        await set_rules(
            session, Actor.system(Clock()), institution_id=world.b2_institution_id, rules=rules
        )
    loop = asyncio.get_running_loop()
    start = loop.time() + (release.timestamp() - time.time())
    print(
        f"\nB2 burst: {len(slots)} slots released at {local:%H:%M:%S}; {len(crowd)} 就诊人 and "
        f"{len(scalping)} scalper retries ({len(world.scalpers)} accounts) within 1 s"
    )
    outcomes = await open_load(phones, arrivals, len(arrivals), start)
    sent_by = max(outcome.due for outcome in outcomes) - start
    won = [o for o in outcomes if o.status == 201]
    refused = [o for o in outcomes if o.status != 201]
    latencies = [o.latency for o in outcomes]
    print(f"arrivals due over {sent_by:.2f} s; answers by status and code:")
    for key, count in Counter(f"{o.status} {o.code}".strip() for o in outcomes).most_common():
        print(f"  {key:40} {count}")
    print(
        f"latency (from due) p50 {ms(percentile(latencies, 0.5))}  "
        f"p99 {ms(percentile(latencies, 0.99))}  max {ms(max(latencies))}"
    )
    scalper_outcomes = [
        o
        for o, (booker, _) in zip(outcomes, arrivals, strict=True)
        if booker.account_id in scalper_accounts
    ]
    scalpers_limited = sum(1 for o in scalper_outcomes if o.status == 429)
    crowd_limited = sum(1 for o in outcomes if o.status == 429) - scalpers_limited
    print(
        f"scalper retries: {len(scalper_outcomes)}, 429: {scalpers_limited}, booked: "
        f"{sum(1 for o in scalper_outcomes if o.status == 201)}; 429 for the crowd: "
        f"{crowd_limited}"
    )

    async with factory() as session:
        active = Appointment.status.in_(ACTIVE_STATUSES)
        booked_places = await session.scalar(
            select(func.sum(Slot.booked)).where(Slot.session_id == world.b2_session_id)
        )
        appointments = await session.scalar(
            select(func.count()).where(Appointment.session_id == world.b2_session_id, active)
        )
        slots_twice = await session.scalar(
            select(func.count()).select_from(
                select(Appointment.slot_id)
                .where(Appointment.session_id == world.b2_session_id, active)
                .group_by(Appointment.slot_id)
                .having(func.count() > 1)
                .subquery()
            )
        )
        over_capacity = await session.scalar(
            select(func.count()).where(
                Slot.session_id == world.b2_session_id, Slot.booked > Slot.capacity
            )
        )
        patients_twice = await session.scalar(
            select(func.count()).select_from(
                select(Appointment.patient_id)
                .where(Appointment.session_id == world.b2_session_id, active)
                .group_by(Appointment.patient_id)
                .having(func.count() > 1)
                .subquery()
            )
        )
    unclear = [o for o in refused if not (400 <= o.status < 500 and o.code)]
    server_errors = sum(1 for o in outcomes if o.status >= 500)
    checks = [
        (f"exactly {len(slots)} booked (slots' booked)", booked_places == len(slots)),
        (f"exactly {len(slots)} active appointments", appointments == len(slots)),
        (f"{len(slots)} successful answers", len(won) == len(slots)),
        ("no slot twice", slots_twice == 0 and over_capacity == 0),
        ("no 就诊人 twice", patients_twice == 0),
        (f"every refusal a 4xx problem with a code ({len(unclear)} not)", not unclear),
        (f"zero 5xx ({server_errors})", server_errors == 0),
        ("the scalpers held back by the rate limits (429)", scalpers_limited > 0),
    ]
    for label, ok in checks:
        print(f"check {label}: {'ok' if ok else 'FAILED'}")
    if len(won) == len(slots):
        sold_out = max(o.done for o in won) - start
        bound = 3 * len(slots) / f_db.rate
        print(
            f"sold out {sold_out:.2f} s after release; target <= 3 × {len(slots)} / F_db = "
            f"{bound:.2f} s: {verdict(sold_out <= bound)}"
        )
    else:
        print(f"not sold out: {len(won)} of {len(slots)} booked")
    if refused:
        span = max(o.done for o in refused) - start
        rejections = len(refused) / span
        print(
            f"refusals served at {rejections:.0f}/s; target >= 0.5 × F_http = "
            f"{0.5 * f_http.rate:.0f}/s: {verdict(rejections >= 0.5 * f_http.rate)}"
        )


async def run(args: argparse.Namespace) -> None:
    url = args.url
    await create_database(url)
    process = None
    try:
        await asyncio.to_thread(upgrade, url)
        keys = {
            name: base64.b64encode(secrets.token_bytes(32)).decode()
            for name in (
                "secret_key",
                "field_key",
                "blind_index_key",
                "payment_sandbox_key",
                "carrier_sandbox_key",
                "provincial_app_secret",
            )
        }
        engine = make_engine(url)
        pool_size = engine.sync_engine.pool.size()
        factory = make_sessionmaker(engine)
        doctor_days = max(1, round(args.doctor_days * args.scale))
        started = time.perf_counter()
        cipher = FieldCipher(keys["field_key"], keys["blind_index_key"])
        world = await seed(factory, cipher, args.scale, doctor_days)
        seeded = time.perf_counter() - started
        async with factory() as session:
            server_version = await session.scalar(select(func.version()))
        print(
            f"PostgreSQL: {server_version}\nPython {sys.version.split()[0]}, httpx "
            f"{httpx.__version__}, asyncpg {asyncpg.__version__}, {os.cpu_count()} CPUs; "
            f"{args.workers} uvicorn workers, pool size {pool_size} each"
        )
        print(
            f"seeded in {seeded:.1f} s: {doctor_days} doctor-days × {B1_SLOTS_PER_DAY} slots, "
            f"{len(world.b1_bookers) + len(world.b2_bookers)} 就诊人, "
            f"{len(world.scalpers)} scalper accounts"
        )
        connections = args.workers * pool_size
        captured, others = capture_pairs(list(zip(world.b1_slots, world.b1_bookers, strict=True)))
        script = await capture_booking(url, keys, cipher, captured)
        print(
            f"\nthe app's SQL of one booking, captured: {len(script.statements)} statements "
            f"(writing {', '.join(script.written_tables)})"
        )
        f_db, done = await floor_db(
            plain_dsn(url), connections, script, cipher, others, args.floor_seconds
        )
        print(
            f"floor F_db   booking SQL over {connections} connections: {f_db.rate:7.0f} tps  "
            f"p50 {ms(f_db.p50)}  p99 {ms(f_db.p99)}  ({done} transactions)"
        )
        with tempfile.TemporaryDirectory() as folder:
            process, base = start_server(url, args.workers, Path(folder), keys)
            await wait_healthy(process, base, Path(folder))
            limits = httpx.Limits(
                max_connections=HTTP_CONNECTIONS, max_keepalive_connections=HTTP_CONNECTIONS
            )
            async with httpx.AsyncClient(base_url=base, limits=limits, timeout=120) as client:
                f_http = await floor_http(client, args.floor_seconds)
                print(
                    f"floor F_http /healthz, {HTTP_FLOOR_CONCURRENCY} in flight:  "
                    f"{f_http.rate:7.0f} rps  p50 {ms(f_http.p50)}  p99 {ms(f_http.p99)}"
                )
            phones = Phones(base)
            try:
                await throughput(phones, world, f_db, args.start_rate, args.step_seconds)
                await burst(phones, factory, world, f_db, f_http)
            finally:
                await phones.close()
            stop_server(process)
            process = None
        await engine.dispose()
    finally:
        if process is not None:
            stop_server(process)
        if not args.keep:
            await drop_database(url)


def database_parser(description: str | None) -> argparse.ArgumentParser:
    """The arguments of a bench on a PostgreSQL database it creates: ``--url`` and ``--keep``."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--url",
        default=os.environ.get("IHOSPITAL_BENCH_DATABASE_URL", ""),
        help="PostgreSQL URL of a database to create (default: IHOSPITAL_BENCH_DATABASE_URL)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    return parser


def parse_database_args(parser: argparse.ArgumentParser) -> argparse.Namespace:
    args = parser.parse_args()
    if not args.url.startswith(("postgresql", "postgres:")):
        parser.error("give a PostgreSQL URL with --url or IHOSPITAL_BENCH_DATABASE_URL")
    return args


def main() -> None:
    parser = database_parser(__doc__)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--doctor-days", type=int, default=200)
    parser.add_argument(
        "--scale", type=float, default=1.0, help="shrink B1 and B2 (0.05: a quick run)"
    )
    parser.add_argument("--start-rate", type=float, default=5.0, help="B1 first step, per s")
    parser.add_argument("--step-seconds", type=float, default=5.0)
    parser.add_argument("--floor-seconds", type=float, default=5.0)
    args = parse_database_args(parser)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
