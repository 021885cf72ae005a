"""Rate limiters: a fixed window per key from its first hit, in-process on the app's clock and in
Redis (against the real Redis on 127.0.0.1:6379 when it is reachable)."""

import asyncio
import tracemalloc
import uuid
from datetime import timedelta

import pytest
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from ihospital.core import ratelimit
from ihospital.core.clock import FrozenClock
from ihospital.core.ratelimit import (
    InProcessRateLimiter,
    RedisRateLimiter,
    make_rate_limiter,
)
from tests.conftest import START, make_settings

REDIS_URL = "redis://127.0.0.1:6379/0"


async def test_in_process_refuses_over_the_limit_until_the_window_ends():
    clock = FrozenClock(START)
    limiter = InProcessRateLimiter(clock)
    verdicts = [await limiter.hit("a", limit=3, window_seconds=10) for _ in range(4)]
    assert [v.allowed for v in verdicts] == [True, True, True, False]
    assert verdicts[-1].retry_after == 10
    clock.advance(timedelta(seconds=6.5))
    refused = await limiter.hit("a", limit=3, window_seconds=10)
    assert not refused.allowed and refused.retry_after == 4  # rounded up to whole seconds
    assert (await limiter.hit("b", limit=3, window_seconds=10)).allowed  # keys are separate
    clock.advance(timedelta(seconds=3.5))
    assert (await limiter.hit("a", limit=3, window_seconds=10)).allowed  # a new window


def _held_by_limiter() -> int:
    """Bytes of live objects the rate limit module allocated (its windows)."""
    snapshot = tracemalloc.take_snapshot().filter_traces(
        [tracemalloc.Filter(True, ratelimit.__file__)]
    )
    return sum(stat.size for stat in snapshot.statistics("filename"))


async def test_in_process_memory_is_bounded_by_the_open_windows():
    clock = FrozenClock(START)
    limiter = InProcessRateLimiter(clock)
    tracemalloc.start()
    try:
        empty = _held_by_limiter()
        for n in range(20_000):  # a burst of one-off callers
            await limiter.hit(
                f"ip:10.{n // 65536}.{n // 256 % 256}.{n % 256}", limit=1, window_seconds=10
            )
        burst = _held_by_limiter() - empty
        clock.advance(timedelta(seconds=10))
        assert (await limiter.hit("a", limit=1, window_seconds=10)).allowed
        after = _held_by_limiter() - empty
    finally:
        tracemalloc.stop()
    # The ended windows are let go at the next hit (sweeps are a second apart at most); what
    # stays is the table's emptied slots (reused by later keys) and the objects the interpreter
    # keeps for reuse.
    assert burst > 1_000_000 and after < burst / 2


async def test_in_process_counts_simultaneous_hits_exactly():
    limiter = InProcessRateLimiter(FrozenClock(START))
    verdicts = await asyncio.gather(
        *(limiter.hit("k", limit=5, window_seconds=10) for _ in range(50))
    )
    assert sum(v.allowed for v in verdicts) == 5


def test_settings_choose_the_implementation(tmp_path):
    clock = FrozenClock(START)
    assert isinstance(make_rate_limiter(make_settings(tmp_path), clock), InProcessRateLimiter)
    shared = make_rate_limiter(make_settings(tmp_path, redis_url=REDIS_URL), clock)
    assert isinstance(shared, RedisRateLimiter)


@pytest.fixture
async def redis_limiter():
    client = aioredis.from_url(REDIS_URL)
    try:
        await client.ping()
    except (RedisError, OSError):
        await client.aclose()
        pytest.skip("no Redis reachable on 127.0.0.1:6379")
    prefix = f"ih:test:{uuid.uuid4().hex}:"
    limiter = RedisRateLimiter(
        client, fallback=InProcessRateLimiter(FrozenClock(START)), prefix=prefix
    )
    yield limiter
    keys = [key async for key in client.scan_iter(match=prefix + "*")]
    if keys:
        await client.delete(*keys)
    await limiter.close()


async def test_redis_refuses_over_the_limit_and_tells_when_to_retry(redis_limiter):
    verdicts = [await redis_limiter.hit("a", limit=2, window_seconds=10) for _ in range(3)]
    assert [v.allowed for v in verdicts] == [True, True, False]
    assert 1 <= verdicts[-1].retry_after <= 10
    assert (await redis_limiter.hit("b", limit=2, window_seconds=10)).allowed
    assert 9_000 < await redis_limiter.client.pttl(redis_limiter.prefix + "a") <= 10_000


async def test_redis_window_ends(redis_limiter):
    assert (await redis_limiter.hit("a", limit=1, window_seconds=1)).allowed
    assert not (await redis_limiter.hit("a", limit=1, window_seconds=1)).allowed
    await asyncio.sleep(1.1)
    assert (await redis_limiter.hit("a", limit=1, window_seconds=1)).allowed


async def test_redis_counts_simultaneous_hits_exactly(redis_limiter):
    verdicts = await asyncio.gather(
        *(redis_limiter.hit("k", limit=5, window_seconds=10) for _ in range(50))
    )
    assert sum(v.allowed for v in verdicts) == 5
    # every hit went to Redis: the in-process fallback has counted none of them
    assert (await redis_limiter.fallback.hit("k", limit=1, window_seconds=10)).allowed


async def test_unreachable_redis_falls_back_to_counting_in_process():
    limiter = RedisRateLimiter(
        aioredis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5),
        fallback=InProcessRateLimiter(FrozenClock(START)),
        prefix="ih:test:",
    )
    try:
        verdicts = [await limiter.hit("a", limit=1, window_seconds=10) for _ in range(2)]
    finally:
        await limiter.close()
    assert [v.allowed for v in verdicts] == [True, False]
