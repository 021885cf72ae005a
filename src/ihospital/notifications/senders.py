"""SMS senders. Production plugs a carrier gateway in here; development logs the text.

A sender receives an idempotency key (the outbox event id): a real gateway deduplicates on it,
and so does the sandbox, so a retried delivery never sends a second message.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass, field
from typing import Protocol

from ihospital.config import Settings

log = logging.getLogger("ihospital.sms")


class SmsFailure(Exception):
    """The gateway refused or did not answer; the outbox retries with backoff."""


@dataclass(frozen=True)
class SmsReceipt:
    reference: str


class SmsSender(Protocol):
    async def send(self, *, mobile: str, text: str, idempotency_key: str) -> SmsReceipt: ...


class LogSmsSender:
    """Development sender: writes the message (including one-time codes) to the log."""

    async def send(self, *, mobile: str, text: str, idempotency_key: str) -> SmsReceipt:
        log.info("sms to %s: %s", mobile, text)
        return SmsReceipt(reference=f"log-{idempotency_key}")


@dataclass
class SandboxSmsSender:
    """Behaves like a carrier gateway: latency, occasional failures, deduplication by key.
    ``sent`` keeps what was delivered so tests and the demo can read it."""

    latency_seconds: float = 0.0
    failure_rate: float = 0.0
    sent: dict[str, tuple[str, str]] = field(default_factory=dict)
    rng: random.Random = field(default_factory=random.Random)

    async def send(self, *, mobile: str, text: str, idempotency_key: str) -> SmsReceipt:
        if self.latency_seconds:
            await asyncio.sleep(self.latency_seconds)
        if idempotency_key in self.sent:
            return SmsReceipt(reference=f"sbx-{idempotency_key}")
        if self.failure_rate and self.rng.random() < self.failure_rate:
            raise SmsFailure("sandbox gateway rejected the message")
        self.sent[idempotency_key] = (mobile, text)
        return SmsReceipt(reference=f"sbx-{idempotency_key}")


def make_sms_sender(settings: Settings) -> SmsSender:
    if settings.sms_sender == "sandbox":
        return SandboxSmsSender()
    return LogSmsSender()
