"""The heartbeat wheel: every socket beaten once per interval, first at a random point of the
second half of its first one; a late wake beating every slot it passed; silent sockets dropped;
the wheel stopping with its last socket."""

from __future__ import annotations

import asyncio
import itertools
import time

from ihospital.realtime.socket import Heartbeat

INTERVAL = 0.1


class FakeSocket:
    """What the wheel needs of a live socket: ``beat`` (still beating?) and ``ping``."""

    def __init__(self, *, silent: bool = False) -> None:
        self.loop = asyncio.get_running_loop()
        self.silent = silent
        self.beats: list[float] = []
        self.pings = 0

    def beat(self, now: float) -> bool:
        self.beats.append(now)
        return not self.silent

    async def ping(self) -> None:
        self.pings += 1


async def test_each_socket_is_beaten_once_per_interval_at_a_random_point():
    heartbeat = Heartbeat(INTERVAL)
    loop = asyncio.get_running_loop()
    sockets = [FakeSocket() for _ in range(40)]
    started = loop.time()
    for socket in sockets:
        heartbeat.add(socket)
    await asyncio.sleep(3.5 * INTERVAL)
    elapsed = loop.time() - started
    for socket in sockets:
        heartbeat.discard(socket)
    await asyncio.sleep(0)  # the last pings run
    turns = int(elapsed / INTERVAL)
    for socket in sockets:
        assert turns - 1 <= len(socket.beats) <= turns + 1
        assert socket.pings == len(socket.beats)
        gaps = [later - earlier for earlier, later in itertools.pairwise(socket.beats)]
        assert all(gap > INTERVAL / 2 for gap in gaps)  # never twice in one turn
    first_beats = {round(socket.beats[0] - started, 3) for socket in sockets}
    assert len(first_beats) > 3  # spread over the interval, not all at once
    assert min(first_beats) >= INTERVAL / 2 - 0.001  # and not at once after opening


async def test_a_late_wake_beats_every_slot_it_passed():
    heartbeat = Heartbeat(INTERVAL)
    sockets = [FakeSocket() for _ in range(30)]
    for socket in sockets:
        heartbeat.add(socket)
    await asyncio.sleep(0)
    time.sleep(1.2 * INTERVAL)  # noqa: ASYNC251 (the process stalls for more than a turn)
    await asyncio.sleep(0.01)
    assert all(socket.beats for socket in sockets)  # none skipped by the stall
    for socket in sockets:
        heartbeat.discard(socket)


async def test_a_silent_socket_is_dropped_and_not_pinged():
    heartbeat = Heartbeat(INTERVAL)
    silent, talking = FakeSocket(silent=True), FakeSocket()
    heartbeat.add(silent)
    heartbeat.add(talking)
    await asyncio.sleep(2.5 * INTERVAL)
    assert len(silent.beats) == 1 and silent.pings == 0
    assert len(talking.beats) >= 2
    heartbeat.discard(talking)


async def test_the_wheel_stops_with_its_last_socket_and_starts_again():
    heartbeat = Heartbeat(INTERVAL)
    socket = FakeSocket()
    heartbeat.add(socket)
    turning = heartbeat._turning
    assert turning is not None
    heartbeat.discard(socket)
    await asyncio.wait_for(turning, 2 * INTERVAL)
    again = FakeSocket()
    heartbeat.add(again)
    await asyncio.sleep(1.5 * INTERVAL)
    assert again.beats
    heartbeat.discard(again)
