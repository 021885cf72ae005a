"""Signed callbacks from outside parties (a payment provider's notifications, a carrier's
tracking events): HMAC-SHA256 over ``timestamp\\nnonce\\nbody\\n`` (the shape of WeChat Pay v3),
sent in three headers. A signature older or newer than ``max_age`` is refused, so a captured
callback cannot be replayed later (R13: what we accept from outside is traceable to its sender).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

TIMESTAMP_HEADER = "sandbox-timestamp"
NONCE_HEADER = "sandbox-nonce"
SIGNATURE_HEADER = "sandbox-signature"
MAX_CALLBACK_AGE = timedelta(minutes=5)


class SignatureRefused(Exception):
    """A callback whose signature cannot be trusted: ``reason`` is ``unsigned``,
    ``bad_signature`` or ``stale``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class CallbackSigner:
    """Signs and verifies callbacks with one shared key."""

    def __init__(self, key: bytes, *, max_age: timedelta = MAX_CALLBACK_AGE) -> None:
        self._key = key
        self._max_age = max_age

    def _signature(self, timestamp: str, nonce: str, body: bytes) -> str:
        message = timestamp.encode() + b"\n" + nonce.encode() + b"\n" + body + b"\n"
        return base64.b64encode(hmac.new(self._key, message, hashlib.sha256).digest()).decode()

    def sign(self, body: str, *, now: datetime) -> dict[str, str]:
        """The headers that go with ``body`` when it is sent at ``now``."""
        timestamp, nonce = str(int(now.timestamp())), secrets.token_hex(16)
        return {
            TIMESTAMP_HEADER: timestamp,
            NONCE_HEADER: nonce,
            SIGNATURE_HEADER: self._signature(timestamp, nonce, body.encode()),
        }

    def verify(self, *, headers: Mapping[str, str], body: bytes, now: datetime) -> None:
        """Return if ``body`` was signed with our key within ``max_age`` of ``now``; else raise
        :class:`SignatureRefused`."""
        lowered = {key.lower(): value for key, value in headers.items()}
        timestamp = lowered.get(TIMESTAMP_HEADER, "")
        nonce = lowered.get(NONCE_HEADER, "")
        signature = lowered.get(SIGNATURE_HEADER, "")
        if not (timestamp.isascii() and timestamp.isdigit() and nonce and signature):
            raise SignatureRefused("unsigned")
        if not hmac.compare_digest(self._signature(timestamp, nonce, body), signature):
            raise SignatureRefused("bad_signature")
        sent_at = datetime.fromtimestamp(min(int(timestamp), 10**11), UTC)
        if abs(now - sent_at) > self._max_age:
            raise SignatureRefused("stale")
