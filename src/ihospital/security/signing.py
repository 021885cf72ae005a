"""Electronic signatures of practitioners (Ed25519) over canonical JSON.

Each practitioner has one key pair, made when their credentials are verified (or, for a doctor
verified before that, on their first signature); the private key is stored
encrypted with the field key (:class:`~ihospital.security.crypto.FieldCipher`), its associated
data naming the practitioner, so a key cannot be moved to another doctor's row. What is signed is
:func:`canonical_json` of a document: sorted keys, no spaces, UTF-8, so the same content always
gives the same bytes. A signature names its key, so it can be checked later with the public key
alone.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.core.context import Actor
from ihospital.security.crypto import FieldCipher
from ihospital.security.models import SigningKey

ALGORITHM = "Ed25519"
_RAW = serialization.Encoding.Raw
_RAW_PUBLIC = serialization.PublicFormat.Raw


@dataclass(frozen=True)
class Signature:
    key_id: int
    value: str  # base64 of the 64-byte Ed25519 signature


def canonical_json(document: Mapping[str, Any]) -> bytes:
    """The bytes that are signed: sorted keys, no insignificant spaces, UTF-8."""
    return json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _purpose(practitioner_id: int) -> str:
    return f"signing_keys.private_key:{practitioner_id}"


async def _key_of(session: AsyncSession, practitioner_id: int) -> SigningKey | None:
    return await session.scalar(
        select(SigningKey).where(SigningKey.practitioner_id == practitioner_id)
    )


async def _new_key(
    session: AsyncSession, actor: Actor, *, practitioner_id: int, cipher: FieldCipher
) -> SigningKey:
    """Make the practitioner's key pair; a concurrent first signature's key wins."""
    private = Ed25519PrivateKey.generate()
    raw_private = private.private_bytes(
        _RAW, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    key = SigningKey(
        practitioner_id=practitioner_id,
        public_key=base64.b64encode(private.public_key().public_bytes(_RAW, _RAW_PUBLIC)).decode(),
        private_key=cipher.encrypt(
            base64.b64encode(raw_private).decode(), purpose=_purpose(practitioner_id)
        ),
        created_at=actor.clock.now(),
    )
    try:
        async with session.begin_nested():
            session.add(key)
            await session.flush()
    except IntegrityError:
        existing = await _key_of(session, practitioner_id)
        assert existing is not None
        return existing
    await record(
        session,
        actor,
        action="signing_key.created",
        subject_type="practitioner",
        subject_id=practitioner_id,
        details={"key_id": key.id, "algorithm": ALGORITHM, "public_key": key.public_key},
    )
    return key


async def ensure_signing_key(
    session: AsyncSession, actor: Actor, *, practitioner_id: int, cipher: FieldCipher
) -> SigningKey:
    """The practitioner's key pair, made now when they have none (at credential verification,
    and on a first signature as the fallback)."""
    key = await _key_of(session, practitioner_id)
    if key is None:
        key = await _new_key(session, actor, practitioner_id=practitioner_id, cipher=cipher)
    return key


async def sign(
    session: AsyncSession,
    actor: Actor,
    *,
    practitioner_id: int,
    message: bytes,
    cipher: FieldCipher,
) -> Signature:
    """Sign ``message`` with the practitioner's private key, making the key pair if they have
    none yet (R06: documents are e-signed by the doctor who wrote them)."""
    key = await ensure_signing_key(session, actor, practitioner_id=practitioner_id, cipher=cipher)
    raw = base64.b64decode(cipher.decrypt(key.private_key, purpose=_purpose(practitioner_id)))
    private = Ed25519PrivateKey.from_private_bytes(raw)
    return Signature(key.id, base64.b64encode(private.sign(message)).decode())


async def signing_key(session: AsyncSession, *, key_id: int) -> SigningKey | None:
    """The stored key ``key_id``; its public half is what a verifier uses."""
    return await session.get(SigningKey, key_id)


def verify(public_key_b64: str, *, message: bytes, signature: str) -> bool:
    """Whether ``signature`` (base64) is a valid Ed25519 signature of ``message``."""
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64))
        key.verify(base64.b64decode(signature), message)
    except (InvalidSignature, ValueError):
        return False
    return True
