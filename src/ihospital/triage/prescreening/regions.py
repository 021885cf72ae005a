"""The part of the country a command centre watches: a regulator's region code (GB/T 2260) names
a province (``420000``), a city (``420100``) or a district (``420102``), and covers every code that
starts with its significant digits; the platform admins' command centre covers every region."""

from __future__ import annotations

from ihospital.core.context import Actor
from ihospital.directory.regions import covers, significant
from ihospital.security.permissions import Role

ALL_REGIONS = "all"


def scope_of(actor: Actor) -> str | None:
    """The prefix of the codes the actor watches, :data:`ALL_REGIONS`, or None (nothing)."""
    if actor.role == Role.PLATFORM_ADMIN:
        return ALL_REGIONS
    return significant(actor.region_code) if actor.region_code else None


def in_scope(actor: Actor, region_code: str) -> bool:
    return actor.role == Role.PLATFORM_ADMIN or covers(actor.region_code, region_code)


def channels_of(region_code: str) -> list[str]:
    """The hub channels an alert of ``region_code`` is published on: one per command centre that
    may watch it (province, city, district and the whole platform)."""
    prefixes = {region_code[:2], region_code[:4], region_code, ALL_REGIONS}
    return sorted(board_channel(prefix) for prefix in prefixes)


def board_channel(scope: str) -> str:
    return f"epidemic:{scope}"
