"""Practitioners' Ed25519 signatures: one key pair each, made on the first signature, the private
key encrypted for that practitioner only; a signature holds only for the exact bytes signed."""

import pytest
from sqlalchemy import select

from ihospital.security.models import SigningKey
from ihospital.security.signing import canonical_json, sign, signing_key, verify
from tests.consultation.builders import doctor_actor, make_practice
from tests.identity.builders import CIPHER


def test_canonical_json_does_not_depend_on_key_order():
    assert canonical_json({"b": 1, "a": "高血压"}) == canonical_json({"a": "高血压", "b": 1})
    assert canonical_json({"a": "高血压", "b": 1}) == '{"a":"高血压","b":1}'.encode()


async def test_each_practitioner_signs_with_their_own_key(session, clock):
    practice = await make_practice(session, clock=clock)
    message = canonical_json({"diagnosis": "I10"})
    signatures = {}
    for doctor in (practice.doctor, practice.colleague, practice.doctor):
        signatures.setdefault(doctor.id, []).append(
            await sign(
                session,
                doctor_actor(clock, doctor),
                practitioner_id=doctor.id,
                message=message,
                cipher=CIPHER,
            )
        )
    keys = {k.practitioner_id: k for k in await session.scalars(select(SigningKey))}
    assert set(keys) == {practice.doctor.id, practice.colleague.id}
    first, again = signatures[practice.doctor.id]
    assert first == again  # Ed25519 is deterministic: same key, same bytes, same signature
    (theirs,) = signatures[practice.colleague.id]
    own_key = await signing_key(session, key_id=first.key_id)
    assert verify(own_key.public_key, message=message, signature=first.value)
    assert not verify(own_key.public_key, message=message + b" ", signature=first.value)
    assert not verify(own_key.public_key, message=message, signature=theirs.value)
    assert not verify(own_key.public_key, message=message, signature="not base64!")


async def test_a_private_key_decrypts_only_for_its_practitioner(session, clock):
    practice = await make_practice(session, clock=clock)
    doctor = practice.doctor
    await sign(
        session, doctor_actor(clock, doctor), practitioner_id=doctor.id, message=b"x", cipher=CIPHER
    )
    key = (await session.scalars(select(SigningKey))).one()
    CIPHER.decrypt(key.private_key, purpose=f"signing_keys.private_key:{doctor.id}")
    with pytest.raises(ValueError):
        CIPHER.decrypt(key.private_key, purpose=f"signing_keys.private_key:{practice.colleague.id}")
