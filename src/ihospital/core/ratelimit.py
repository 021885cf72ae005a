"""Rate limits: at most ``limit`` hits per key in a fixed window that starts at the key's first
hit. Two implementations with one interface: in-process (one worker, the default) and Redis
(shared by every worker, when ``IHOSPITAL_REDIS_URL`` is set)."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from ihospital.config import Settings
from ihospital.core.clock import Clock
from ihospital.errors import TooManyRequests

log = logging.getLogger("ihospital.ratelimit")
SWEEP_EVERY = timedelta(seconds=1)

# INCR and the window's expiry in one atomic step, so concurrent workers count every hit once.
_HIT_SCRIPT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {count, redis.call('PTTL', KEYS[1])}
"""


@dataclass(frozen=True)
class Verdict:
    """The answer to one hit: allowed or not, and the whole seconds until the window reopens."""

    allowed: bool
    retry_after: int


class RateLimiter(Protocol):
    async def hit(self, key: str, *, limit: int, window_seconds: int) -> Verdict: ...

    async def close(self) -> None: ...


async def admit(
    limiter: RateLimiter, key: str, *, limit: int, window_seconds: int, code: str, message: str
) -> None:
    """Count a hit of ``key``; past ``limit`` in the window, refuse with a 429 problem
    ``code`` whose ``message`` may name ``{retry_after}`` (seconds)."""
    verdict = await limiter.hit(key, limit=limit, window_seconds=window_seconds)
    if not verdict.allowed:
        raise TooManyRequests(code, message, retry_after=verdict.retry_after)


class InProcessRateLimiter:
    """Windows kept in this process, on the app's clock (tests move it). ``hit`` never awaits,
    so under asyncio it is one indivisible step. Ended windows are let go by a sweep at most
    every :data:`SWEEP_EVERY` (a sweep reads every window: sweeping at each new key would cost
    a flash crowd of new callers time quadratic in their number)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._windows: dict[str, tuple[datetime, int]] = {}
        self._next_sweep = clock.now()

    async def hit(self, key: str, *, limit: int, window_seconds: int) -> Verdict:
        now = self.clock.now()
        if now >= self._next_sweep:
            self._forget_ended(now)
            self._next_sweep = now + SWEEP_EVERY
        ends_at, count = self._windows.get(key, (now, 0))
        if ends_at <= now:
            ends_at, count = now + timedelta(seconds=window_seconds), 0
        count += 1
        self._windows[key] = (ends_at, count)
        return Verdict(count <= limit, math.ceil((ends_at - now).total_seconds()))

    def _forget_ended(self, now: datetime) -> None:
        # Bounded memory: a window's entry goes once it has ended.
        for key in [key for key, (ends_at, _) in self._windows.items() if ends_at <= now]:
            del self._windows[key]

    async def close(self) -> None:
        self._windows.clear()


class RedisRateLimiter:
    """Windows in Redis, shared by all workers. If Redis cannot be reached the hit is counted
    in-process instead (and logged): a Redis outage must not stop booking altogether."""

    def __init__(self, client: aioredis.Redis, *, fallback: InProcessRateLimiter, prefix: str):
        self.client = client
        self.fallback = fallback
        self.prefix = prefix
        self._script = client.register_script(_HIT_SCRIPT)

    async def hit(self, key: str, *, limit: int, window_seconds: int) -> Verdict:
        try:
            count, ttl_ms = await self._script(
                keys=[self.prefix + key], args=[window_seconds * 1000]
            )
        except RedisError:
            log.warning("rate limit: Redis unavailable, counting in-process", exc_info=True)
            return await self.fallback.hit(key, limit=limit, window_seconds=window_seconds)
        return Verdict(int(count) <= limit, max(1, math.ceil(int(ttl_ms) / 1000)))

    async def close(self) -> None:
        await self.client.aclose()


def make_rate_limiter(settings: Settings, clock: Clock, *, prefix: str = "ih:rl:") -> RateLimiter:
    """Redis when ``redis_url`` is set, else in-process."""
    in_process = InProcessRateLimiter(clock)
    if not settings.redis_url:
        return in_process
    return RedisRateLimiter(
        aioredis.from_url(settings.redis_url), fallback=in_process, prefix=prefix
    )
