"""Booking rate limits per account and per client IP (settings ``booking_rate_*``), checked
before a booking touches the database; over the limit is a 429 with ``Retry-After``."""

from __future__ import annotations

from fastapi import Request

from ihospital.core.context import Actor
from ihospital.errors import TooManyRequests

DEVICE_PURPOSE = "booking.device"


async def admit_booking(request: Request, actor: Actor) -> str:
    """Count one booking attempt against the account's and the client IP's limits; refuse it
    (429) when either is exceeded. Returns the device hash the booking is recorded with."""
    settings = request.app.state.settings
    limiter = request.app.state.rate_limiter
    window = settings.booking_rate_window_seconds
    for key, limit in (
        (f"booking:account:{actor.account_id}", settings.booking_rate_per_account),
        (f"booking:ip:{actor.ip}", settings.booking_rate_per_ip),
    ):
        verdict = await limiter.hit(key, limit=limit, window_seconds=window)
        if not verdict.allowed:
            raise TooManyRequests(
                "booking.too_many_attempts",
                "Too many booking attempts. Try again in {retry_after} seconds.",
                retry_after=verdict.retry_after,
            )
    user_agent = request.headers.get("user-agent", "")
    return request.app.state.cipher.blind_index(f"{actor.ip}\n{user_agent}", purpose=DEVICE_PURPOSE)
