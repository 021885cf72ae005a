"""The hub: in-process, and Redis pub/sub shared by several processes (two hubs, each with its
own Redis connection)."""

from __future__ import annotations

import asyncio

import pytest

from ihospital.realtime import hub as hub_module
from ihospital.realtime.hub import HubUnavailable, InProcessHub, RedisHub, make_hub
from tests.conftest import make_settings
from tests.realtime.support import REDIS_URL, redis_hubs  # noqa: F401  (fixture)


async def _next(subscription):
    return await asyncio.wait_for(anext(subscription), 5.0)


async def _nothing_within(subscription, seconds: float = 0.2) -> bool:
    try:
        await asyncio.wait_for(anext(subscription), seconds)
    except TimeoutError:
        return True
    return False


def test_settings_choose_the_hub(tmp_path):
    assert isinstance(make_hub(make_settings(tmp_path)), InProcessHub)
    assert isinstance(make_hub(make_settings(tmp_path, redis_url=REDIS_URL)), RedisHub)


async def test_in_process_subscribers_get_their_channel_in_order():
    hub = InProcessHub()
    async with hub.subscribe("a") as first, hub.subscribe("a") as second, hub.subscribe("b") as b:
        for n in range(5):
            hub.publish("a", {"id": n})
        assert [(await _next(first))["id"] for _ in range(5)] == [0, 1, 2, 3, 4]
        assert [(await _next(second))["id"] for _ in range(5)] == [0, 1, 2, 3, 4]
        assert await _nothing_within(b)
    hub.publish("a", {"id": 5})  # nobody listens any more: nothing is kept
    async with hub.subscribe("a") as late:
        assert await _nothing_within(late)


async def test_in_process_events_are_copies_and_must_be_json():
    hub = InProcessHub()
    event = {"id": 1, "tags": ["x"]}
    async with hub.subscribe("a") as subscription:
        hub.publish("a", event)
        event["tags"].append("changed later")
        assert (await _next(subscription))["tags"] == ["x"]
        with pytest.raises(TypeError):
            hub.publish("a", {"id": 2, "at": object()})


async def test_a_subscriber_that_falls_behind_is_ended_not_skipped(monkeypatch):
    monkeypatch.setattr(hub_module, "QUEUE_SIZE", 3)
    hub = InProcessHub()
    async with hub.subscribe("a") as slow:
        for n in range(4):
            hub.publish("a", {"id": n})
        with pytest.raises(HubUnavailable):
            await _next(slow)


async def test_closing_the_hub_ends_its_subscriptions():
    hub = InProcessHub()
    async with hub.subscribe("a") as subscription:
        await hub.close()
        with pytest.raises(HubUnavailable):
            await _next(subscription)


async def test_redis_carries_events_between_processes(redis_hubs):  # noqa: F811
    app_process, worker_process = redis_hubs(), redis_hubs()
    async with app_process.subscribe("inbox:1") as here, app_process.subscribe("inbox:2") as other:
        for n in range(500):
            worker_process.publish("inbox:1", {"id": n, "text": "复诊提醒"})
        received = [await _next(here) for _ in range(500)]
        assert [event["id"] for event in received] == list(range(500))
        assert received[0]["text"] == "复诊提醒"
        app_process.publish("inbox:1", {"id": 500})  # and within one process
        assert (await _next(here))["id"] == 500
        assert await _nothing_within(other)


async def test_redis_subscription_is_live_when_subscribe_returns(redis_hubs):  # noqa: F811
    publisher, subscriber = redis_hubs(), redis_hubs()
    for n in range(20):  # each subscription is confirmed by Redis before it is used
        async with subscriber.subscribe(f"c{n}") as subscription:
            publisher.publish(f"c{n}", {"id": n})
            assert (await _next(subscription))["id"] == n


async def test_redis_channel_is_left_with_its_last_subscriber(redis_hubs):  # noqa: F811
    publisher, subscriber = redis_hubs(), redis_hubs()
    async with subscriber.subscribe("a") as first:
        async with subscriber.subscribe("a") as second:
            publisher.publish("a", {"id": 1})
            assert (await _next(second))["id"] == 1
        publisher.publish("a", {"id": 2})
        assert [(await _next(first))["id"] for _ in range(2)] == [1, 2]
    assert await publisher.client.pubsub_numsub(publisher.prefix + "a") == [
        ((publisher.prefix + "a").encode(), 0)
    ]
    async with subscriber.subscribe("a") as again:  # subscribing again works
        publisher.publish("a", {"id": 3})
        assert (await _next(again))["id"] == 3


async def test_redis_hub_that_loses_redis_ends_its_subscriptions_and_recovers(redis_hubs):  # noqa: F811
    publisher, subscriber = redis_hubs(), redis_hubs()
    async with subscriber.subscribe("a") as subscription:
        name = await subscriber.client.client_getname()
        [connection] = [
            entry
            for entry in await publisher.client.client_list(_type="pubsub")
            if entry["name"] == name
        ]
        await publisher.client.client_kill_filter(_id=connection["id"])
        with pytest.raises(HubUnavailable):
            await _next(subscription)
    async with subscriber.subscribe("a") as renewed:
        publisher.publish("a", {"id": 1})
        assert (await _next(renewed))["id"] == 1
