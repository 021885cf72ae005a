"""Public doctor search throughput, against the floor of a plain indexed read of the same table.

Seeds institutions in several regions (through the directory services) and N doctors with their
accounts and practice sites (written in bulk: the benchmark measures reading, and N argon2 hashes
would only measure the seeding), then times :func:`ihospital.directory.search.search_doctors`
for each kind of query the public search page sends: name, full pinyin, pinyin initials,
department (with its sub-specialties), department and region, title, institution, and pages deep
into the listing. Each query runs in its own session, as a request does. The floor is
``SELECT … FROM practitioners WHERE verification_status = 'verified' ORDER BY id LIMIT 20``
(indexed) in its own session, measured in the same run.

Run: ``python bench/doctor_search.py [--url URL] [--doctors N] [--rounds R]``. The database is
``--url``, else ``IHOSPITAL_BENCH_DATABASE_URL``, else a temporary SQLite file. A PostgreSQL
database given here is migrated and filled; use one made for the benchmark.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ihospital.core.clock import Clock
from ihospital.core.context import Actor
from ihospital.db import make_engine, make_sessionmaker
from ihospital.directory.departments import add_department
from ihospital.directory.institutions import create_institution
from ihospital.directory.models import TITLES, PracticeSite, Practitioner
from ihospital.directory.pinyin import name_pinyin
from ihospital.directory.search import search_doctors
from ihospital.identity.models import Account
from ihospital.migrate import upgrade
from ihospital.security.passwords import hash_password

REGIONS = [
    ("110105", "北京市朝阳区"),
    ("110108", "北京市海淀区"),
    ("310104", "上海市徐汇区"),
    ("420106", "武汉市武昌区"),
    ("440106", "广州市天河区"),
]
DEPARTMENTS = ["02", "03", "03.01", "03.02", "03.04", "03.07", "04.01", "04.03", "05.01", "07"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国玉兰志红文"
STATUSES = ["verified"] * 9 + ["pending"]
INSTITUTIONS = 20
PAGE_SIZE = 20


def _doctor_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2))))


async def seed(factory: async_sessionmaker[AsyncSession], doctors: int) -> list[int]:
    """Institutions with departments, then ``doctors`` doctors; the institutions' ids."""
    rng = random.Random(20261123)
    actor = Actor.system(Clock())
    async with factory() as session, session.begin():
        institution_ids = []
        for index in range(INSTITUTIONS):
            region_code, region_name = REGIONS[index % len(REGIONS)]
            institution = await create_institution(
                session,
                actor,
                name=f"基准测试医院{index + 1:02d}",
                level="三级甲等",
                region_code=region_code,
                region_name=region_name,
                is_internet_hospital=True,
                internet_licence_number=f"基准许可{index + 1:02d}",
                internet_licence_expires_on=date.today() + timedelta(days=365),
            )
            for code in DEPARTMENTS:
                await add_department(
                    session,
                    actor,
                    institution_id=institution.id,
                    department_code=code,
                    offers_online=True,
                )
            institution_ids.append(institution.id)
    password_hash = hash_password("Bench-pass-123")
    now = actor.clock.now()
    batch = 500
    for start in range(0, doctors, batch):
        async with factory() as session, session.begin():
            count = min(batch, doctors - start)
            names = [_doctor_name(rng) for _ in range(count)]
            homes = [rng.choice(institution_ids) for _ in range(count)]
            account_ids = (
                await session.scalars(
                    insert(Account).returning(Account.id),
                    [
                        {
                            "mobile": f"136{start + n:08d}",
                            "password_hash": password_hash,
                            "role": "doctor",
                            "display_name": names[n],
                            "institution_id": homes[n],
                            "created_at": now,
                        }
                        for n in range(count)
                    ],
                )
            ).all()
            rows = []
            for n, (name, home, account_id) in enumerate(
                zip(names, homes, account_ids, strict=True)
            ):
                pinyin = name_pinyin(name)
                status = rng.choice(STATUSES)
                rows.append(
                    {
                        "account_id": account_id,
                        "institution_id": home,
                        "name": name,
                        "name_pinyin": pinyin.full,
                        "name_initials": pinyin.initials,
                        "sex": rng.choice(("male", "female")),
                        "licence_number": f"2{start + n:014d}",
                        "title": rng.choice(TITLES),
                        "practice_start_date": date(rng.randint(1990, 2024), 7, 1),
                        "verification_status": status,
                        "verified_at": now if status == "verified" else None,
                        "created_at": now,
                    }
                )
            practitioner_ids = (
                await session.scalars(insert(Practitioner).returning(Practitioner.id), rows)
            ).all()
            sites = []
            for practitioner_id, home in zip(practitioner_ids, homes, strict=True):
                department = rng.choice(DEPARTMENTS)
                sites.append(
                    {
                        "practitioner_id": practitioner_id,
                        "institution_id": home,
                        "department_code": department,
                        "is_primary": True,
                    }
                )
                if rng.random() < 0.1:  # 多点执业 at a second institution
                    other = rng.choice([i for i in institution_ids if i != home])
                    sites.append(
                        {
                            "practitioner_id": practitioner_id,
                            "institution_id": other,
                            "department_code": department,
                            "is_primary": False,
                            "filing_number": f"备案{practitioner_id}",
                            "consent_on_file": True,
                        }
                    )
            await session.execute(insert(PracticeSite), sites)
    return institution_ids


async def rate(
    factory: async_sessionmaker[AsyncSession],
    rounds: int,
    query: Callable[[AsyncSession], Awaitable[Any]],
) -> tuple[float, Any]:
    """Queries per second of ``query``, each in its own session, and its last answer."""
    async with factory() as session:
        answer = await query(session)  # warm the statement caches
    started = time.perf_counter()
    for _ in range(rounds):
        async with factory() as session:
            answer = await query(session)
    return rounds / (time.perf_counter() - started), answer


async def run(url: str, doctors: int, rounds: int) -> None:
    await asyncio.to_thread(upgrade, url)
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    started = time.perf_counter()
    institution_ids = await seed(factory, doctors)
    seeded = time.perf_counter() - started
    actor = Actor(role="anonymous", clock=Clock())
    deep_page = max(1, int(doctors * 0.9) // PAGE_SIZE // 2)

    def search(**filters: Any) -> Callable[[AsyncSession], Awaitable[Any]]:
        async def query(session: AsyncSession) -> Any:
            return await search_doctors(session, actor, page_size=PAGE_SIZE, **filters)

        return query

    async def floor_query(session: AsyncSession) -> Any:
        return (
            await session.scalars(
                select(Practitioner)
                .where(Practitioner.verification_status == "verified")
                .order_by(Practitioner.id)
                .limit(PAGE_SIZE)
            )
        ).all()

    scenarios = [
        ("no filter, page 1", search()),
        (f"no filter, page {deep_page}", search(page=deep_page)),
        ("name 张伟", search(q="张伟")),
        ("name 伟", search(q="伟")),
        ("full pinyin zhangwei", search(q="zhangwei")),
        ("pinyin initials zw", search(q="zw")),
        ("department 03 (+ sub)", search(department="03")),
        ("department 03.04", search(department="03.04")),
        ("department 03 + region 110000", search(department="03", region_code="110000")),
        ("title 主任医师", search(title="主任医师")),
        ("institution", search(institution_id=institution_ids[0])),
        ("initials + department 03", search(q="zw", department="03")),
    ]
    floor, _ = await rate(factory, rounds, floor_query)
    print(
        f"database: {engine.dialect.name}, {doctors} doctors in {INSTITUTIONS} institutions "
        f"(seeded in {seeded:.1f} s), {rounds} queries each, page size {PAGE_SIZE}"
    )
    print(f"{'floor  indexed SELECT … LIMIT 20':44} {floor:8.0f} /s")
    for label, query in scenarios:
        figure, result = await rate(factory, rounds, query)
        print(
            f"{'search ' + label:44} {figure:8.0f} /s  ({figure / floor:4.0%} of floor, "
            f"{result.total} matches)"
        )
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--url",
        default=os.environ.get("IHOSPITAL_BENCH_DATABASE_URL", ""),
        help="database URL (default: IHOSPITAL_BENCH_DATABASE_URL, else a temporary SQLite file)",
    )
    parser.add_argument("--doctors", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.url or f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        asyncio.run(run(url, args.doctors, args.rounds))


if __name__ == "__main__":
    main()
