"""Real ``python -m ihospital worker`` processes on a committed database: killed mid-event,
and two at once. Exactly once means: every event done, none failed (a second handling would
collide on the effect's unique ``source_event_id``), one effect row per event."""

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

from sqlalchemy import select

from ihospital.core.clock import Clock
from ihospital.core.context import Actor
from ihospital.db import make_engine, make_sessionmaker
from ihospital.notifications.models import InboxMessage
from ihospital.outbox.models import OutboxEvent
from ihospital.outbox.service import emit
from tests.conftest import BACKEND
from tests.identity.builders import make_account
from tests.outbox.handlers import SLOW, STALL_VARIABLE

REPO = Path(__file__).resolve().parents[2]


class Worker:
    def __init__(self, process: asyncio.subprocess.Process, log: Path) -> None:
        self.process = process
        self.log = log

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    async def stop(self) -> int:
        """SIGTERM: the worker finishes its current event and exits."""
        self.process.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.process.wait(), 20)

    async def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
            await self.process.wait()


async def start_worker(url: str, tmp_path: Path, name: str, *, stall_at: int | None = None):
    env = {
        **os.environ,
        "IHOSPITAL_DATABASE_URL": url,
        "IHOSPITAL_DATA_DIR": str(tmp_path),
        "IHOSPITAL_WORKER_MODULES": json.dumps(["tests.outbox.handlers"]),
        "IHOSPITAL_WORKER_POLL_SECONDS": "0.05",
        "IHOSPITAL_LOG_JSON": "false",
        "IHOSPITAL_LOG_LEVEL": "INFO",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    env.pop(STALL_VARIABLE, None)
    if stall_at is not None:
        env[STALL_VARIABLE] = str(stall_at)
    log = tmp_path / f"{name}.log"
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "ihospital",
            "worker",
            env=env,
            cwd=REPO,
            stdout=output,
            stderr=asyncio.subprocess.STDOUT,
        )
    return Worker(process, log)


async def wait_until(check, what: str, workers: list[Worker], seconds: float = 90.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not await check():
        crashed = [w for w in workers if w.process.returncode is not None]
        if crashed or loop.time() > deadline:
            logs = "\n".join(w.output()[-3000:] for w in workers)
            raise AssertionError(f"gave up waiting for {what}:\n{logs}")
        await asyncio.sleep(0.05)


async def emit_slow_events(factory, count: int, **payload) -> list[int]:
    actor = Actor.system(Clock())
    async with factory() as session, session.begin():
        account = await make_account(session, clock=Clock())
        ids = []
        for index in range(count):
            event = await emit(
                session,
                actor,
                topic=SLOW,
                payload={"account_id": account.id, "index": index, **payload},
            )
            ids.append(event.id)
    return ids


async def outcome(factory) -> tuple[list[OutboxEvent], dict[int, list[str]]]:
    """The test's events (workers schedule jobs of their own too), and for each event id the
    pids of the workers whose effect row exists."""
    async with factory() as session:
        events = list(
            (await session.scalars(select(OutboxEvent).where(OutboxEvent.topic == SLOW))).all()
        )
        rows = (
            await session.execute(select(InboxMessage.source_event_id, InboxMessage.title))
        ).all()
    effects: dict[int, list[str]] = {}
    for event_id, pid in rows:
        effects.setdefault(event_id, []).append(pid)
    return events, effects


def all_done(factory, ids: list[int]):
    async def check() -> bool:
        async with factory() as session:
            done = await session.scalars(select(OutboxEvent.id).where(OutboxEvent.status == "done"))
            return set(done.all()) >= set(ids)

    return check


def assert_exactly_once(events: list[OutboxEvent], effects: dict[int, list[str]], ids):
    assert sorted(event.id for event in events) == sorted(ids)
    assert all(event.status == "done" for event in events)
    assert [(e.id, e.last_error) for e in events if e.attempts] == []
    assert sorted(effects) == sorted(ids)
    assert all(len(pids) == 1 for pids in effects.values())


async def test_worker_killed_mid_event_loses_nothing_and_repeats_nothing(databases, tmp_path):
    url = await databases.fresh()
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    trace = tmp_path / "started.txt"
    workers: list[Worker] = []
    try:
        ids = await emit_slow_events(factory, 40, seconds=0.02, trace=str(trace))
        stalled = ids[15]

        async def reached_stalled_event() -> bool:
            return trace.exists() and f"{stalled} " in trace.read_text()

        first = await start_worker(url, tmp_path, "first", stall_at=15)
        workers.append(first)
        await wait_until(reached_stalled_event, "the first worker to hang mid-event", workers)
        await first.kill()

        second = await start_worker(url, tmp_path, "second")
        workers.append(second)
        await wait_until(all_done(factory, ids), "the second worker to finish", [second])
        assert await second.stop() == 0

        events, effects = await outcome(factory)
        assert_exactly_once(events, effects, ids)
        assert {effects[i][0] for i in ids[:15]} == {str(first.pid)}
        assert {effects[i][0] for i in ids[15:]} == {str(second.pid)}
    finally:
        for worker in workers:
            await worker.kill()
        await engine.dispose()


async def test_two_workers_share_a_batch_without_handling_any_event_twice(databases, tmp_path):
    url = await databases.fresh()
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    workers = [await start_worker(url, tmp_path, name) for name in ("a", "b")]
    try:

        async def both_started() -> bool:
            return all("outbox worker started" in worker.output() for worker in workers)

        await wait_until(both_started, "both workers to start", workers)
        ids = await emit_slow_events(factory, 200, seconds=0.01)
        await wait_until(all_done(factory, ids), "the workers to finish", workers)
        assert [await worker.stop() for worker in workers] == [0, 0]

        events, effects = await outcome(factory)
        assert_exactly_once(events, effects, ids)
        if BACKEND == "postgresql":  # on SQLite the single writer may leave one of them idle
            assert {pids[0] for pids in effects.values()} == {str(w.pid) for w in workers}
    finally:
        for worker in workers:
            await worker.kill()
        await engine.dispose()
