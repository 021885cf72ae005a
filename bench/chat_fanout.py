"""The consultation chat under load: many doctor–patient pairs talking through two app processes
that share Redis pub/sub (C1), and thousands of idle sockets on one process (C2), beside the
floor of a bare WebSocket server measured in the same run.

The benchmark creates the PostgreSQL database named by ``--url`` (it must not exist yet),
migrates it and fills it in bulk as ``bench/booking_flash.py`` does: verified doctors, real-named
patient accounts, one in-progress free text consultation per pair, and an API token for every
account (only its digest stored). It serves the app with ``ihospital serve`` in two processes on
free ports, both with ``IHOSPITAL_REDIS_URL`` (default ``redis://127.0.0.1:6379/0``). The load
comes from client processes of its own (this file run with ``--client``), so the servers' CPU is
theirs alone to account for; every process raises its soft limit of open files to the hard one.

- Floor F_ws: a bare ``websockets`` server, one per app process, that relays each text frame to
  both sockets of its pair (as the chat does: the sender sees its message arrive too), under the
  same pairs, each with one message in flight (closed loop): relayed messages/s and latency.
- C1 chat: ``--pairs`` pairs (2,000). Half of them have the patient on one process and the
  doctor on the other (cross-process, through Redis); the other half have both on one process.
  Both sides send text messages at a fixed arrival rate (an open model: latency counts from the
  moment a message was due), stepped up by 1.5× until the delivered messages/s stop following
  the offered rate, then one step at half the best rate. During every step some sockets are
  closed by the client and opened again with ``?after=<last id>`` (forced reconnects). Each
  message carries its sender's sequence number: at the end the bench counts the messages the
  other side lost, received twice or received out of order, over all steps and reconnects.
- C2 idle: ``--idle`` sockets (5,000) on one fresh app process, with the heartbeat every
  ``--heartbeat-seconds`` (``IHOSPITAL_WS_HEARTBEAT_SECONDS``). The server's resident memory is
  read before and after they open: the growth per socket. While they idle, each client sends one
  ``ping`` (the round trip to the server's ``pong`` is the heartbeat latency) and answers the
  server's pings; how late the server's pings come is printed too, and the app's garbage
  collector pauses in the idle window (from its ``/metrics``). The client process runs with its
  own collector off, so that its pauses are not measured as the app's.

Nothing asserts a time: targets are printed with "met" or "not met". Run:
``python bench/chat_fanout.py --url postgresql://postgres@127.0.0.1:5432/bench_chat
[--pairs N] [--idle N] [--step-seconds T] [--quick] [--keep]``; ``--url`` defaults to
IHOSPITAL_BENCH_DATABASE_URL. ``--quick`` is a short run with few pairs and sockets. The
database is dropped at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import gc
import itertools
import json
import math
import os
import platform
import random
import resource
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import redis
import websockets
from booking_flash import (
    add_bookers,
    add_doctors,
    add_institution,
    create_database,
    database_parser,
    drop_database,
    free_port,
    ms,
    parse_database_args,
    percentile,
    server_environment,
    stop_server,
    verdict,
)
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, insert, select
from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

SATURATED = 0.9  # a step is saturated when delivered messages/s fall below this share
RELAY_ONLY = 4  # close code of the floor's relay for a bad path
CONNECT_IN_FLIGHT = 64
PAIR_SIDES = ("patient", "doctor")

# --- pure figures ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SequenceReport:
    """What a receiver got of one sender's numbered messages (1, 2, … ``sent``)."""

    lost: int = 0
    duplicated: int = 0
    reordered: int = 0

    def __add__(self, other: SequenceReport) -> SequenceReport:
        return SequenceReport(
            self.lost + other.lost,
            self.duplicated + other.duplicated,
            self.reordered + other.reordered,
        )


def check_sequence(sent: int, received: Sequence[int]) -> SequenceReport:
    """Compare what was sent (numbers 1 to ``sent``) with what arrived, in arrival order: a
    number that never arrived is lost; each further copy of one is duplicated; a first copy
    arriving after a larger number is reordered."""
    seen: set[int] = set()
    duplicated = reordered = 0
    highest = 0
    for number in received:
        if number in seen:
            duplicated += 1
            continue
        seen.add(number)
        if number < highest:
            reordered += 1
        highest = max(highest, number)
    lost = sum(1 for number in range(1, sent + 1) if number not in seen)
    return SequenceReport(lost, duplicated, reordered)


def latency_line(latencies: Sequence[float]) -> str:
    if not latencies:
        return "no messages"
    return (
        f"p50 {ms(percentile(latencies, 0.5))}  p99 {ms(percentile(latencies, 0.99))}  "
        f"max {ms(max(latencies))}"
    )


def message_text(nonce: str, pair: int, side: str, seq: int) -> str:
    return f"cf {nonce} {pair} {side} {seq}"


def parse_text(nonce: str, text: object) -> tuple[int, str, int] | None:
    """(pair, side, seq) of a bench message of this run; None for anything else (another run
    or a test may publish on the same Redis)."""
    parts = text.split(" ") if isinstance(text, str) else []
    if len(parts) != 5 or parts[:2] != ["cf", nonce] or parts[3] not in PAIR_SIDES:
        return None
    if not (parts[2].isdigit() and parts[4].isdigit()):
        return None
    return int(parts[2]), parts[3], int(parts[4])


def raise_open_files() -> None:
    """Raise the soft limit of open files to the hard one (thousands of sockets)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


# --- client side (run in its own process with --client) -------------------------------------


class Endpoint:
    """One side of a pair: its socket (reconnected with ``?after=`` the last id it received),
    the numbers it sent, and what it received from the other side."""

    def __init__(self, run: ChatClient, spec: dict) -> None:
        self.run = run
        self.pair: int = spec["pair"]
        self.side: str = spec["side"]
        self.url: str = spec["url"]
        self.token: str = spec["token"]
        self.cross: bool = spec["cross"]
        self.ws: ClientConnection | None = None
        self.lock = asyncio.Lock()  # FIFO: sends leave in the order they were numbered
        self.last_id = 0
        self.sent = 0
        self.received: list[int] = []  # the other side's numbers, in arrival order
        self.reader: asyncio.Task[None] | None = None
        self.closing = False  # closed by this client: not to be reopened

    async def open(self) -> None:
        url = self.url + (f"?after={self.last_id}" if self.last_id else "")
        self.ws = await connect(
            url,
            additional_headers={"Authorization": f"Bearer {self.token}"},
            compression=None,
            open_timeout=120,
            ping_interval=None,
            max_queue=None,
        )
        ready = asyncio.get_running_loop().create_future()
        self.reader = asyncio.create_task(self.read(self.ws, ready))
        await ready

    async def read(self, ws: ClientConnection, ready: asyncio.Future[None]) -> None:
        loop = asyncio.get_running_loop()
        try:
            async for raw in ws:
                frame = json.loads(raw)
                kind = frame.get("type")
                if kind == "message":
                    self.last_id = max(self.last_id, frame["id"])
                    self.run.on_message(self, frame["message"].get("text"), loop.time())
                elif kind == "ready" and not ready.done():
                    ready.set_result(None)
                elif kind == "ping":
                    self.run.on_ping_seen(self, loop.time())
                    self.run.spawn(self.send_frame({"type": "pong"}))
                elif kind == "pong":
                    self.run.on_pong(self, loop.time())
                elif kind == "error":
                    self.run.errors.append(str(frame.get("code")))
        except ConnectionClosed:
            pass
        finally:
            if not ready.done():
                ready.set_exception(ConnectionError(f"closed before ready: {self.url}"))
        if not self.closing and ws is self.ws and ws.close_code != 1000:
            self.run.errors.append(f"closed by the server: {ws.close_code}")
            self.run.spawn(self.reconnect(ws))

    async def send_frame(self, frame: dict) -> None:
        async with self.lock:
            if self.ws is not None:
                with contextlib.suppress(ConnectionClosed):
                    await self.ws.send(json.dumps(frame))

    async def send_message(self, seq: int) -> None:
        frame = {"type": "message", "text": message_text(self.run.nonce, self.pair, self.side, seq)}
        async with self.lock:
            for _ in range(3):
                try:
                    assert self.ws is not None
                    await self.ws.send(json.dumps(frame))
                    return
                except ConnectionClosed:
                    self.run.errors.append("closed while sending")
                    await self.open()

    async def reconnect(self, lost: ClientConnection | None = None) -> None:
        """Close the socket and open it again, resuming after the last id received; with
        ``lost``, only if that is still the socket (a send may have reopened it)."""
        async with self.lock:
            if self.closing or (lost is not None and self.ws is not lost):
                return
            if self.ws is not None:
                await self.ws.close()
            if self.reader is not None and self.reader is not asyncio.current_task():
                await self.reader
            await self.open()

    async def close(self) -> None:
        self.closing = True
        if self.ws is not None:
            await self.ws.close()


class ChatClient:
    """The load of C1 and C2 (and the floor's, whose relay speaks the same frames)."""

    def __init__(self, job: dict) -> None:
        self.job = job
        self.nonce: str = job["nonce"]
        self.endpoints = [Endpoint(self, spec) for spec in job["endpoints"]]
        self.by_key = {(e.pair, e.side): e for e in self.endpoints}
        self.due: dict[tuple[int, str, int], float] = {}
        self.latencies: dict[tuple[int, str, int], float] = {}
        self.pongs: dict[int, float] = {}
        self.errors: list[str] = []
        self.foreign = 0
        self.tasks: set[asyncio.Task] = set()
        self.waiters: dict[tuple[int, str], asyncio.Future[None]] = {}
        self.ping_times: dict[int, list[float]] | None = None  # C2: server pings seen
        self.pending: set[tuple[int, str, int]] = set()  # C1: due in this step, not yet in
        self.drained = asyncio.Event()

    def spawn(self, work) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def on_message(self, endpoint: Endpoint, text: object, now: float) -> None:
        parsed = parse_text(self.nonce, text)
        if parsed is None:
            self.foreign += 1
            return
        pair, side, seq = parsed
        if pair != endpoint.pair:
            self.foreign += 1
            return
        if side == endpoint.side:
            return  # the sender's own copy
        endpoint.received.append(seq)
        key = (pair, side, seq)
        if key not in self.latencies and key in self.due:
            self.latencies[key] = now - self.due[key]
            self.pending.discard(key)
            if not self.pending:
                self.drained.set()
        if (waiter := self.waiters.pop((pair, endpoint.side), None)) and not waiter.done():
            waiter.set_result(None)

    def on_pong(self, endpoint: Endpoint, now: float) -> None:
        sent = self.pongs.get(id(endpoint))
        if sent is not None and sent > 0:
            self.pongs[id(endpoint)] = -(now - sent)  # negative: the round trip, done

    async def open_all(self, endpoints: Sequence[Endpoint]) -> float:
        started = time.perf_counter()
        gate = asyncio.Semaphore(CONNECT_IN_FLIGHT)

        async def one(endpoint: Endpoint) -> None:
            async with gate:
                await endpoint.open()

        await asyncio.gather(*(one(endpoint) for endpoint in endpoints))
        return time.perf_counter() - started

    async def close_all(self) -> None:
        await asyncio.gather(*(e.close() for e in self.endpoints), return_exceptions=True)

    # C1: one step of the open model

    async def step(self, rate: float, seconds: float, reconnects: int, drain: float) -> dict:
        loop = asyncio.get_running_loop()
        rng = random.Random(int(rate * 1000))
        senders = list(self.endpoints)
        rng.shuffle(senders)
        count = max(1, round(rate * seconds))
        start = loop.time() + 0.2
        keys: list[tuple[int, str, int]] = []
        moments = sorted(rng.uniform(0.1, 0.9) * seconds for _ in range(reconnects))
        victims = rng.sample(self.endpoints, min(reconnects, len(self.endpoints)))
        for moment, victim in zip(moments, victims, strict=False):
            loop.call_at(start + moment, lambda v=victim: self.spawn(v.reconnect()))
        for n in range(count):
            due = start + n / rate
            if (wait := due - loop.time()) > 0:
                await asyncio.sleep(wait)
            sender = senders[n % len(senders)]
            sender.sent += 1
            key = (sender.pair, sender.side, sender.sent)
            self.due[key] = due
            keys.append(key)
            self.pending.add(key)
            self.spawn(sender.send_message(sender.sent))
        await self.drain(self.pending, drain)
        delivered = [key for key in keys if key in self.latencies]
        last = max((self.due[key] + self.latencies[key] for key in delivered), default=start)
        span = max(last - start, 1e-9)
        cross = {(e.pair, e.side) for e in self.endpoints if e.cross}
        return {
            "offered": rate,
            "sent": len(keys),
            "delivered": len(delivered),
            "achieved": len(delivered) / span if span > 0 else math.nan,
            "same": [self.latencies[k] for k in delivered if (k[0], k[1]) not in cross],
            "cross": [self.latencies[k] for k in delivered if (k[0], k[1]) in cross],
        }

    async def drain(self, keys: set[tuple[int, str, int]], seconds: float) -> None:
        """Wait up to ``seconds`` for the messages ``keys`` to reach the other side."""
        self.pending = keys - self.latencies.keys()
        if self.pending:
            self.drained.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.drained.wait(), seconds)
        self.pending = set()

    async def chat(self) -> dict:
        job = self.job
        connect_seconds = await self.open_all(self.endpoints)
        reconnects = max(1, round(job["reconnect_share"] * len(self.endpoints)))
        steps, rate, saturated = [], job["start_rate"], False
        for _ in range(job["max_steps"]):
            step = await self.step(rate, job["step_seconds"], reconnects, job["drain_seconds"])
            steps.append(step)
            print(json.dumps({"progress": {k: step[k] for k in ("offered", "achieved")}}))
            sys.stdout.flush()
            if step["achieved"] < SATURATED * rate or step["delivered"] < step["sent"]:
                saturated = True
                break
            rate *= 1.5
        best = max(step["achieved"] for step in steps)
        await self.drain(set(self.due), 3 * job["drain_seconds"])  # the backlog of saturation
        half = await self.step(best / 2, job["step_seconds"], reconnects, job["drain_seconds"])
        # what a saturated step left in flight may still come: lost is what never does
        await self.drain(set(self.due), 3 * job["drain_seconds"])
        report = SequenceReport()
        for endpoint in self.endpoints:
            other = self.by_key[
                (endpoint.pair, "doctor" if endpoint.side == "patient" else "patient")
            ]
            report += check_sequence(endpoint.sent, other.received)
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.close_all()
        return {
            "connect_seconds": connect_seconds,
            "steps": steps,
            "saturated": saturated,
            "half": half,
            "lost": report.lost,
            "duplicated": report.duplicated,
            "reordered": report.reordered,
            "reconnects": reconnects * (len(steps) + 1),
            "foreign": self.foreign,
            "errors": self.errors,
        }

    # the floor: each pair one message in flight, for a fixed time

    async def floor(self) -> dict:
        job = self.job
        await self.open_all(self.endpoints)
        loop = asyncio.get_running_loop()
        start = loop.time()
        stop = start + job["seconds"]

        async def converse(pair: int) -> None:
            speaker = 0
            while loop.time() < stop:
                sender = self.by_key[(pair, PAIR_SIDES[speaker])]
                listener = PAIR_SIDES[1 - speaker]
                sender.sent += 1
                key = (pair, sender.side, sender.sent)
                self.due[key] = loop.time()
                arrived = loop.create_future()
                self.waiters[(pair, listener)] = arrived
                await sender.send_message(sender.sent)
                try:
                    await asyncio.wait_for(arrived, 30)
                except TimeoutError:
                    self.errors.append("not relayed within 30 s")
                    return
                speaker = 1 - speaker

        pairs = sorted({e.pair for e in self.endpoints})
        await asyncio.gather(*(converse(pair) for pair in pairs))
        ended = loop.time()
        await self.close_all()
        within = [v for k, v in self.latencies.items() if self.due[k] + v <= stop]
        return {
            "delivered": len(within),
            "seconds": ended - start,
            "latencies": within,
            "errors": self.errors,
        }

    # C2: idle sockets

    async def idle(self) -> dict:
        job = self.job
        loop = asyncio.get_running_loop()
        warm, rest = self.endpoints[: job["warmup"]], self.endpoints[job["warmup"] :]
        await self.open_all(warm)
        await self.handshake("warm")
        connect_seconds = await self.open_all(rest)
        opened = loop.time()
        pings = {id(endpoint): [opened] for endpoint in self.endpoints}
        self.ping_times = pings
        await self.handshake("connected")
        seconds = job["idle_seconds"]
        gap = seconds / 2 / max(1, len(self.endpoints))
        for endpoint in self.endpoints:  # one client ping each, spread over the first half
            self.pongs[id(endpoint)] = loop.time()
            self.spawn(endpoint.send_frame({"type": "ping"}))
            await asyncio.sleep(gap)
        await asyncio.sleep(max(0.0, opened + seconds - loop.time()))
        round_trips = [-value for value in self.pongs.values() if value < 0]
        beat = job["heartbeat_seconds"]
        late = [
            later - earlier - beat
            for times in pings.values()
            for earlier, later in itertools.pairwise(times[1:])
        ]
        await self.close_all()
        return {
            "connect_seconds": connect_seconds,
            "connections": len(self.endpoints),
            "round_trips": round_trips,
            "unanswered": len(self.endpoints) - len(round_trips),
            "server_pings": sum(len(times) - 1 for times in pings.values()),
            "late": late,
            "errors": self.errors,
        }

    def on_ping_seen(self, endpoint: Endpoint, now: float) -> None:
        if self.ping_times is not None:
            self.ping_times[id(endpoint)].append(now)

    async def handshake(self, word: str) -> None:
        """Tell the bench where the load is and wait for it to go on (C2's memory readings)."""
        print(json.dumps({"at": word}))
        sys.stdout.flush()
        await asyncio.to_thread(sys.stdin.readline)


def client_main(job_path: str, out_path: str) -> None:
    raise_open_files()
    # The load generator lives for one run: its own collector's pauses (thousands of sockets'
    # objects) would be measured as the app's latency, so it has none.
    gc.disable()
    job = json.loads(Path(job_path).read_text())

    async def main() -> dict:
        client = ChatClient(job)
        return await getattr(client, job["mode"])()

    Path(out_path).write_text(json.dumps(asyncio.run(main())))


# --- the floor's relay server (run in its own process with --relay PORT) --------------------


def relay_main(port: int) -> None:
    """A bare WebSocket server: each text frame on ``/relay/<pair>/<side>`` is sent to both
    sockets of the pair, shaped as the chat's message frame."""
    raise_open_files()
    rooms: dict[str, set[ServerConnection]] = {}
    counter = iter(range(1, 2**62))

    async def handler(ws: ServerConnection) -> None:
        parts = ws.request.path.split("?")[0].strip("/").split("/")
        if len(parts) != 3 or parts[0] != "relay":
            await ws.close(4000 + RELAY_ONLY)
            return
        room = rooms.setdefault(parts[1], set())
        room.add(ws)
        await ws.send('{"type":"ready"}')
        try:
            async for raw in ws:
                text = json.loads(raw).get("text")
                frame = json.dumps(
                    {"type": "message", "id": next(counter), "message": {"text": text}}
                )
                for peer in list(room):
                    with contextlib.suppress(ConnectionClosed):
                        await peer.send(frame)
        finally:
            room.discard(ws)

    async def main() -> None:
        async with serve(handler, "127.0.0.1", port, compression=None, ping_interval=None):
            print("listening", flush=True)
            await asyncio.Future()

    asyncio.run(main())


# --- the bench ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pair:
    pair: int
    consultation_id: int
    patient_token: str
    doctor_token: str


async def seed(url: str, keys: dict[str, str], count: int) -> list[Pair]:
    """``count`` doctors (each in a verified working session, R04) and patient accounts, one
    in-progress consultation for each pair, and an API token per account (doctors' made as
    booking_flash makes the patients')."""
    from ihospital.consultation.duty_models import DoctorWorkSession
    from ihospital.consultation.models import Consultation
    from ihospital.core.clock import Clock
    from ihospital.db import make_engine, make_sessionmaker
    from ihospital.directory.models import Practitioner
    from ihospital.identity.models import AuthSession
    from ihospital.security.crypto import FieldCipher, new_token, token_digest
    from ihospital.security.passwords import hash_password

    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    rng = random.Random(20261127)
    password_hash = hash_password("Bench-pass-123")
    cipher = FieldCipher(keys["field_key"], keys["blind_index_key"])
    institution_id = await add_institution(factory, "基准问诊医院")
    practitioner_ids = await add_doctors(
        factory, institution_id, count, first=0, password_hash=password_hash, rng=rng
    )
    patients = await add_bookers(
        factory,
        cipher,
        count,
        first=0,
        per_account=1,
        network=1,
        accounts_per_ip=4,
        password_hash=password_hash,
        rng=rng,
    )
    now = Clock().now()
    async with factory() as session, session.begin():
        doctors = {
            row.id: row
            for row in await session.execute(
                select(Practitioner.id, Practitioner.account_id, Practitioner.licence_number).where(
                    Practitioner.id.in_(practitioner_ids)
                )
            )
        }
        doctor_tokens = {practitioner: new_token() for practitioner in practitioner_ids}
        signed_in = await session.execute(
            insert(AuthSession).returning(AuthSession.account_id, AuthSession.id),
            [
                {
                    "account_id": doctors[practitioner].account_id,
                    "kind": "api",
                    "token_hash": token_digest(token),
                    "created_at": now,
                    "expires_at": now + timedelta(hours=24),
                    "ip": "127.0.0.1",
                    "user_agent": "chat_fanout",
                }
                for practitioner, token in doctor_tokens.items()
            ],
        )
        auth_sessions = dict(signed_in.all())
        await session.execute(  # each doctor verified for their working session (R04)
            insert(DoctorWorkSession),
            [
                {
                    "practitioner_id": doctor.id,
                    "account_id": doctor.account_id,
                    "auth_session_id": auth_sessions[doctor.account_id],
                    "licence_number": doctor.licence_number,
                    "method": "password",
                    "verified_at": now,
                    "expires_at": now + timedelta(hours=24),
                }
                for doctor in doctors.values()
            ],
        )
        consultation_ids = (
            await session.scalars(
                insert(Consultation).returning(Consultation.id),
                [
                    {
                        "account_id": patient.account_id,
                        "patient_id": patient.patient_id,
                        "practitioner_id": practitioner,
                        "institution_id": institution_id,
                        "consultation_type": "text",
                        "status": "in_progress",
                        "complaint": "基准问诊",
                        "fee_fen": 0,
                        "patient_name": "基准患者",
                        "patient_sex": "female",
                        "patient_age": 40,
                        "patient_verified": True,
                        "guardian_required": False,
                        "created_at": now,
                        "waiting_since": now,
                        "accepted_at": now,
                        "last_activity_at": now,
                    }
                    for patient, practitioner in zip(patients, practitioner_ids, strict=True)
                ],
            )
        ).all()
    await engine.dispose()
    return [
        Pair(n, consultation_id, patient.token, doctor_tokens[practitioner])
        for n, (consultation_id, patient, practitioner) in enumerate(
            zip(consultation_ids, patients, practitioner_ids, strict=True)
        )
    ]


class Servers:
    """Processes this bench started (app servers, relays, clients): stopped at the end. They
    inherit the limit of open files that :func:`main` raised."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.processes: list[subprocess.Popen] = []

    def start(self, name: str, command: list[str], env: dict[str, str] | None = None):
        log = (self.folder / f"{name}.log").open("wb")
        process = subprocess.Popen(
            command,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE if name.startswith("client") else log,
            stderr=log,
        )
        self.processes.append(process)
        return process

    def log(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text(errors="replace")[-3000:]

    def stop(self, process: subprocess.Popen) -> None:
        if process.poll() is None:
            stop_server(process)
        if process in self.processes:
            self.processes.remove(process)

    def stop_all(self) -> None:
        for process in list(self.processes):
            self.stop(process)


async def wait_listening(servers: Servers, process: subprocess.Popen, name: str, port: int) -> None:
    for _ in range(240):
        if process.poll() is not None:
            break
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.25)
    raise SystemExit(f"{name} did not start:\n{servers.log(name)}")


def start_app(
    servers: Servers, name: str, url: str, keys: dict[str, str], env: dict[str, str]
) -> tuple[subprocess.Popen, int]:
    port = free_port()
    environment = server_environment(url, servers.folder, keys) | env
    command = [sys.executable, "-m", "ihospital", "serve", "--port", str(port)]
    return servers.start(name, command, environment), port


async def run_client(servers: Servers, name: str, job: dict, on_line=None) -> dict:
    """Run a load generator in its own process; ``on_line`` answers its progress lines."""
    job_path, out_path = servers.folder / f"{name}.json", servers.folder / f"{name}.out.json"
    job_path.write_text(json.dumps(job))
    command = [sys.executable, __file__, "--client", str(job_path), str(out_path)]
    process = servers.start(name, command)
    assert process.stdout is not None and process.stdin is not None
    while line := await asyncio.to_thread(process.stdout.readline):
        message = json.loads(line)
        if "progress" in message:
            step = message["progress"]
            print(f"  offered {step['offered']:8.1f}/s  delivered {step['achieved']:8.1f}/s")
        elif on_line is not None:
            await on_line(message)
            process.stdin.write(b"go\n")
            process.stdin.flush()
    code = await asyncio.to_thread(process.wait)
    servers.stop(process)
    if code != 0 or not out_path.exists():
        raise SystemExit(f"{name} failed ({code}):\n{servers.log(name)}")
    return json.loads(out_path.read_text())


def endpoint(pair: Pair, side: str, port: int, cross: bool) -> dict:
    path = "/ws/consultations/" if side == "patient" else "/ws/doctor/consultations/"
    token = pair.patient_token if side == "patient" else pair.doctor_token
    url = f"ws://127.0.0.1:{port}{path}{pair.consultation_id}"
    return {"pair": pair.pair, "side": side, "url": url, "token": token, "cross": cross}


def chat_endpoints(pairs: Sequence[Pair], ports: Sequence[int]) -> list[dict]:
    """Odd pairs across the two processes (patient on the first, doctor on the second), even
    pairs on one process, alternately the first and the second."""
    specs = []
    for pair in pairs:
        cross = pair.pair % 2 == 1
        patient_port = ports[0] if cross else ports[(pair.pair // 2) % 2]
        doctor_port = ports[1] if cross else patient_port
        specs.append(endpoint(pair, "patient", patient_port, cross))
        specs.append(endpoint(pair, "doctor", doctor_port, cross))
    return specs


async def floor_ws(servers: Servers, pairs: Sequence[Pair], args: argparse.Namespace) -> float:
    processes = []
    ports = [free_port(), free_port()]
    for n, port in enumerate(ports):
        name = f"relay{n}"
        process = servers.start(name, [sys.executable, __file__, "--relay", str(port)])
        processes.append(process)
        await wait_listening(servers, process, name, port)
    specs = [
        {
            "pair": pair.pair,
            "side": side,
            "url": f"ws://127.0.0.1:{ports[pair.pair % 2]}/relay/{pair.pair}/{side}",
            "token": "",
            "cross": False,
        }
        for pair in pairs
        for side in PAIR_SIDES
    ]
    job = {
        "mode": "floor",
        "nonce": secrets.token_hex(4),
        "endpoints": specs,
        "seconds": args.floor_seconds,
    }
    result = await run_client(servers, "client-floor", job)
    for process in processes:
        servers.stop(process)
    rate = result["delivered"] / result["seconds"]
    print(
        f"floor F_ws  bare websockets relay, 2 processes, {len(pairs)} pairs, one message in "
        f"flight each: {rate:8.0f} messages/s  {latency_line(result['latencies'])}"
    )
    if result["errors"]:
        print(f"  floor errors: {len(result['errors'])} {sorted(set(result['errors']))}")
    return rate


def step_line(label: str, step: dict) -> str:
    lost = step["sent"] - step["delivered"]
    return (
        f"{label:10} offered {step['offered']:7.1f}/s  delivered {step['achieved']:7.1f}/s "
        f"({step['delivered']}/{step['sent']}, {lost} not within the drain)  "
        f"{latency_line(step['same'] + step['cross'])}"
    )


async def chat_load(
    servers: Servers, pairs: Sequence[Pair], ports: Sequence[int], f_ws: float, args
) -> None:
    job = {
        "mode": "chat",
        "nonce": secrets.token_hex(4),
        "endpoints": chat_endpoints(pairs, ports),
        "start_rate": args.start_rate,
        "step_seconds": args.step_seconds,
        "drain_seconds": args.drain_seconds,
        "max_steps": args.max_steps,
        "reconnect_share": args.reconnect_share,
    }
    print(f"\nC1 chat: {len(pairs)} pairs on 2 processes sharing Redis, stepped open load")
    result = await run_client(servers, "client-chat", job)
    print(f"{2 * len(pairs)} sockets opened in {result['connect_seconds']:.1f} s")
    for n, step in enumerate(result["steps"], 1):
        print(step_line(f"step {n}", step))
    if not result["saturated"]:
        print("(the steps ran out before the delivered messages stopped following the rate)")
    half = result["half"]
    print(step_line("half rate", half))
    best = max(step["achieved"] for step in result["steps"])
    same, cross = half["same"], half["cross"]
    print(f"  same-process  {latency_line(same)}")
    print(f"  cross-process {latency_line(cross)}")
    print(
        f"forced reconnects {result['reconnects']}; lost {result['lost']}, duplicated "
        f"{result['duplicated']}, reordered {result['reordered']}; foreign messages ignored "
        f"{result['foreign']}; errors {len(result['errors'])} {sorted(set(result['errors']))}"
    )
    print(f"max delivered messages/s {best:.1f} = {best / f_ws:.1%} of F_ws ({f_ws:.0f}/s)")
    print(f"target messages/s >= 0.3 × F_ws = {0.3 * f_ws:.1f}: {verdict(best >= 0.3 * f_ws)}")
    p99 = percentile(same + cross, 0.99)
    print(f"target p99 at half the max rate <= 50 ms: {ms(p99).strip()}, {verdict(p99 <= 0.05)}")
    gap = percentile(cross, 0.99) - percentile(same, 0.99)
    print(
        f"target cross-process p99 within 5 ms of same-process: {gap * 1000:+.1f} ms, "
        f"{verdict(gap <= 0.005)}"
    )
    clean = result["lost"] == result["duplicated"] == result["reordered"] == 0
    print(f"target zero lost, duplicated or reordered: {verdict(clean)}")


async def idle_load(
    servers: Servers, pairs: Sequence[Pair], url: str, keys: dict[str, str], args
) -> None:
    environment = {
        "IHOSPITAL_REDIS_URL": args.redis_url,
        "IHOSPITAL_WS_HEARTBEAT_SECONDS": str(args.heartbeat_seconds),
    }
    process, port = start_app(servers, "app-idle", url, keys, environment)
    await wait_listening(servers, process, "app-idle", port)
    specs = [endpoint(pair, side, port, False) for pair in pairs for side in PAIR_SIDES]
    specs = specs[: args.idle + args.warmup]
    readings: dict[str, int] = {}

    pauses: dict[str, dict[str, tuple[float, float]]] = {}

    async def read_memory(message: dict) -> None:
        await asyncio.sleep(1.0)
        readings[message["at"]] = rss_bytes(process.pid)
        pauses[message["at"]] = await asyncio.to_thread(collector_pauses, port)

    job = {
        "mode": "idle",
        "nonce": secrets.token_hex(4),
        "endpoints": specs,
        "warmup": args.warmup,
        "idle_seconds": args.idle_seconds,
        "heartbeat_seconds": args.heartbeat_seconds,
    }
    print(
        f"\nC2 idle: {args.idle} sockets on one process (after {args.warmup} to warm up), "
        f"heartbeat every {args.heartbeat_seconds:g} s, idle {args.idle_seconds:g} s"
    )
    result = await run_client(servers, "client-idle", job, read_memory)
    pauses["idled"] = await asyncio.to_thread(collector_pauses, port)
    servers.stop(process)
    growth = (readings["connected"] - readings["warm"]) / max(1, len(specs) - args.warmup)
    print(
        f"opened in {result['connect_seconds']:.1f} s; server RSS {readings['warm'] / 2**20:.1f} "
        f"MiB → {readings['connected'] / 2**20:.1f} MiB: {growth / 1024:.1f} KiB per socket"
    )
    print(
        f"client ping → pong {latency_line(result['round_trips'])} "
        f"({result['unanswered']} unanswered)"
    )
    print(
        f"server pings {result['server_pings']}, later than the interval by "
        f"{latency_line(result['late'])}; errors {len(result['errors'])}"
    )
    print(f"collector pauses while idle (count, of which over 20 ms): {idle_pauses(pauses)}")
    print(f"target <= 100 KiB per socket: {verdict(growth <= 100 * 1024)}")
    p99 = percentile(result["round_trips"], 0.99)
    print(f"target heartbeat p99 <= 20 ms: {ms(p99).strip()}, {verdict(p99 <= 0.02)}")


def collector_pauses(port: int) -> dict[str, tuple[float, float]]:
    """The app's garbage-collector pauses so far by generation (``/metrics``): how many, and
    how many over 20 ms."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as response:
        text = response.read().decode()
    counts: dict[str, float] = {}
    quick: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        if family.name != "ihospital_gc_pause_seconds":
            continue
        for sample in family.samples:
            generation = sample.labels.get("generation", "")
            if sample.name.endswith("_count"):
                counts[generation] = sample.value
            elif sample.name.endswith("_bucket") and float(sample.labels["le"]) == 0.02:
                quick[generation] = sample.value
    return {gen: (count, count - quick.get(gen, 0.0)) for gen, count in counts.items()}


def idle_pauses(pauses: dict[str, dict[str, tuple[float, float]]]) -> str:
    before, after = pauses["connected"], pauses["idled"]
    parts = []
    for generation in sorted(after):
        count, slow = after[generation]
        count_before, slow_before = before.get(generation, (0.0, 0.0))
        parts.append(f"gen {generation}: {count - count_before:.0f}, {slow - slow_before:.0f}")
    return "; ".join(parts)


def describe_machine(redis_url: str) -> str:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    redis_version = redis.Redis.from_url(redis_url).info("server")["redis_version"]
    return (
        f"{os.cpu_count()} CPUs {model}, {memory:.0f} GiB RAM, {platform.platform()}, load "
        f"average {os.getloadavg()[0]:.1f}\nPython {sys.version.split()[0]}, websockets "
        f"{websockets.__version__}, Redis {redis_version}, open files "
        f"{resource.getrlimit(resource.RLIMIT_NOFILE)[0]}"
    )


async def run(args: argparse.Namespace) -> None:
    from ihospital.db import make_engine
    from ihospital.migrate import upgrade

    url = args.url
    print(describe_machine(args.redis_url))
    await create_database(url)
    keys = {
        name: base64.b64encode(secrets.token_bytes(32)).decode()
        for name in ("secret_key", "field_key", "blind_index_key", "payment_sandbox_key")
    }
    try:
        await asyncio.to_thread(upgrade, url)
        engine = make_engine(url)
        async with engine.connect() as connection:
            print(f"PostgreSQL: {await connection.scalar(select(func.version()))}")
        await engine.dispose()
        started = time.perf_counter()
        pairs = await seed(url, keys, max(args.pairs, math.ceil((args.idle + args.warmup) / 2)))
        print(f"seeded {len(pairs)} pairs in {time.perf_counter() - started:.1f} s")
        with tempfile.TemporaryDirectory() as folder:
            servers = Servers(Path(folder))
            try:
                f_ws = await floor_ws(servers, pairs[: args.pairs], args)
                ports = []
                for n in range(2):
                    process, port = start_app(
                        servers, f"app{n}", url, keys, {"IHOSPITAL_REDIS_URL": args.redis_url}
                    )
                    await wait_listening(servers, process, f"app{n}", port)
                    ports.append(port)
                await chat_load(servers, pairs[: args.pairs], ports, f_ws, args)
                servers.stop_all()
                await idle_load(servers, pairs, url, keys, args)
            finally:
                servers.stop_all()
    finally:
        if not args.keep:
            await drop_database(url)


def main() -> None:
    if sys.argv[1:2] == ["--client"]:
        client_main(sys.argv[2], sys.argv[3])
        return
    if sys.argv[1:2] == ["--relay"]:
        relay_main(int(sys.argv[2]))
        return
    parser = database_parser(__doc__)
    parser.add_argument(
        "--redis-url", default=os.environ.get("IHOSPITAL_REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    parser.add_argument("--pairs", type=int, default=2000, help="C1 doctor–patient pairs")
    parser.add_argument("--start-rate", type=float, default=50.0, help="C1 first step, messages/s")
    parser.add_argument("--step-seconds", type=float, default=10.0)
    parser.add_argument("--drain-seconds", type=float, default=10.0)
    parser.add_argument("--max-steps", type=int, default=12)
    parser.add_argument(
        "--reconnect-share", type=float, default=0.01, help="sockets reconnected in each step"
    )
    parser.add_argument("--floor-seconds", type=float, default=10.0)
    parser.add_argument("--idle", type=int, default=5000, help="C2 idle sockets")
    parser.add_argument("--warmup", type=int, default=20, help="C2 sockets before the baseline")
    parser.add_argument("--heartbeat-seconds", type=float, default=5.0)
    parser.add_argument("--idle-seconds", type=float, default=30.0)
    parser.add_argument("--quick", action="store_true", help="a short run with few pairs")
    args = parse_database_args(parser)
    if args.quick:
        args.pairs, args.idle, args.start_rate = min(args.pairs, 40), min(args.idle, 200), 20.0
        args.step_seconds, args.drain_seconds, args.max_steps = 3.0, 5.0, 3
        args.floor_seconds, args.heartbeat_seconds, args.idle_seconds = 3.0, 1.0, 4.0
    raise_open_files()
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
