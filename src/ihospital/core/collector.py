"""The cyclic garbage collector of a serving process, and its pauses as metrics.

CPython's collector stops the process for as long as it walks the objects of the generation it
collects. A process that holds thousands of open WebSockets keeps a few hundred objects alive per
socket (the ASGI stack's coroutines, the socket's tasks, queues and buffers), over a million
with 5,000 sockets, and two things make it pause for long:

- a full collection walks all of them: about a second during which no socket is answered. With
  the default thresholds one comes whenever the old generation has grown by a quarter, which a
  server whose sockets live long reaches every minute or two;
- a young collection is triggered by allocations minus deallocations. Idle sockets allocate
  what lives one heartbeat (the wait for the next frame, the ping's send) while freeing the
  previous beat's, so that count hardly moves: young collections come seldom and then walk tens
  of thousands of objects (tens to hundreds of milliseconds).

:func:`settle_collector` runs once the server listens:

- what start-up built (modules, routes, templates, the triage lexicon) lives as long as the
  process: it is collected once and then frozen (``gc.freeze``), out of every later walk;
- young collections are also paced by time: every :data:`PACE_SECONDS` the youngest
  generation is collected, and every :data:`MIDDLE_EVERY` paces the middle one, so each walks
  only what was allocated since (well under a millisecond) whatever the allocation count says;
- a full collection waits for :data:`FULL_AFTER_YOUNG` collections of the middle generation
  instead of 10 (the quarter-growth rule still applies on top): a few per hour instead of one
  every minute or two. What waits longer is only garbage in reference cycles, which the app
  makes little of (a few hundred objects per full collection in a loaded bench run).

The pauses are exported as ``ihospital_gc_pause_seconds`` by generation on ``/metrics``, so a
long one is seen rather than guessed.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import time
from typing import Any

from ihospital.core.observability import Metrics

YOUNG_THRESHOLD, MIDDLE_THRESHOLD = 700, 10  # CPython's defaults
FULL_AFTER_YOUNG = 10_000
PACE_SECONDS = 0.025
MIDDLE_EVERY = 8


def settle_collector(metrics: Metrics) -> asyncio.Task[None]:
    """Freeze what start-up built, make full collections rare, pace the young ones and time
    every collection into ``metrics``; returns the pacing task. Call once per serving process,
    after start-up, in its event loop (never in tests: freezing would keep every test's
    leftovers alive)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, MIDDLE_THRESHOLD, FULL_AFTER_YOUNG)
    gc.callbacks.append(_timer(metrics))
    return asyncio.get_running_loop().create_task(_pace())


async def _pace() -> None:
    for beat in itertools.count(1):
        await asyncio.sleep(PACE_SECONDS)
        gc.collect(1 if beat % MIDDLE_EVERY == 0 else 0)


def _timer(metrics: Metrics):
    started = 0.0

    def on_collection(phase: str, info: dict[str, Any]) -> None:
        nonlocal started
        if phase == "start":
            started = time.perf_counter()
        else:
            pause = time.perf_counter() - started
            metrics.gc_pauses.labels(generation=str(info["generation"])).observe(pause)

    return on_collection
