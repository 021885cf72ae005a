"""CSRF protection for cookie-authenticated requests (double-submit, signed token).

Every browser gets an HttpOnly cookie holding a random token signed with the secret key; forms
carry the same token in a hidden ``csrf_token`` field and htmx sends it as ``X-CSRF-Token`` (read
from a meta tag). A state-changing request that relies on cookies must present both, equal.
Bearer-token API calls are not exposed to CSRF and skip the check.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

CSRF_COOKIE = "ih_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def new_csrf_token(secret_key: str) -> str:
    nonce = secrets.token_urlsafe(24)
    return f"{nonce}.{_sign(secret_key, nonce)}"


def is_valid_csrf_token(secret_key: str, token: str | None) -> bool:
    if not token or "." not in token:
        return False
    nonce, _, signature = token.partition(".")
    return hmac.compare_digest(signature, _sign(secret_key, nonce))


def tokens_match(cookie_token: str | None, presented: str | None) -> bool:
    return bool(cookie_token and presented) and hmac.compare_digest(
        str(cookie_token), str(presented)
    )


def _sign(secret_key: str, nonce: str) -> str:
    return hmac.new(secret_key.encode(), nonce.encode(), hashlib.sha256).hexdigest()[:32]
