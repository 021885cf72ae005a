"""Real-name verification (实名认证) providers.

The real one (a public-security identity service reached through a licensed vendor) answers
whether a name matches a resident ID number. The sandbox behaves the same way, failures included,
so the rest of the system is exercised as in production:

- an ID number whose sequence digits (positions 15–17) are ``999`` does not match the name;
- a name containing ``超时`` or ``timeout`` makes the provider time out;
- anything else matches.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Protocol

from ihospital.config import Settings

MISMATCH_REASON = "The name does not match the ID number."


class RealNameTimeout(Exception):
    """The provider did not answer in time; the caller may retry later."""


@dataclass(frozen=True)
class RealNameAnswer:
    matched: bool
    reference: str
    reason: str = ""


class RealNameProvider(Protocol):
    name: str

    async def verify(self, *, name: str, id_number: str) -> RealNameAnswer: ...


class SandboxRealNameProvider:
    name = "sandbox"

    async def verify(self, *, name: str, id_number: str) -> RealNameAnswer:
        if "超时" in name or "timeout" in name.lower():
            raise RealNameTimeout("sandbox real-name provider timed out")
        reference = "SBX" + hashlib.sha256(f"{name}|{id_number}".encode()).hexdigest()[:16]
        if id_number[14:17] == "999":
            return RealNameAnswer(False, reference, MISMATCH_REASON)
        return RealNameAnswer(True, reference)


def make_realname_provider(settings: Settings) -> RealNameProvider:
    return SandboxRealNameProvider()
