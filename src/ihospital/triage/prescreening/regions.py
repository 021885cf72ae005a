"""The part of the country a command centre watches: a regulator's region code (GB/T 2260) names
a province (``420000``), a city (``420100``) or a district (``420102``), and covers every code that
starts with its significant digits; the platform admins' command centre covers every region."""

from __future__ import annotations

from ihospital.core.context import Actor
from ihospital.security.permissions import Role

ALL_REGIONS = "all"


def significant(region_code: str) -> str:
    """``420000`` → ``42``, ``420100`` → ``4201``, ``420102`` → ``420102``."""
    for length in (2, 4):
        if region_code[length:] == "0" * (6 - length):
            return region_code[:length]
    return region_code


def scope_of(actor: Actor) -> str | None:
    """The prefix of the codes the actor watches, :data:`ALL_REGIONS`, or None (nothing)."""
    if actor.role == Role.PLATFORM_ADMIN:
        return ALL_REGIONS
    return significant(actor.region_code) if actor.region_code else None


def in_scope(actor: Actor, region_code: str) -> bool:
    scope = scope_of(actor)
    return scope == ALL_REGIONS or (scope is not None and region_code.startswith(scope))


def channels_of(region_code: str) -> list[str]:
    """The hub channels an alert of ``region_code`` is published on: one per command centre that
    may watch it (province, city, district and the whole platform)."""
    prefixes = {region_code[:2], region_code[:4], region_code, ALL_REGIONS}
    return sorted(board_channel(prefix) for prefix in prefixes)


def board_channel(scope: str) -> str:
    return f"epidemic:{scope}"
