"""Administrative regions (GB/T 2260): a 6-digit code names a province (``420000``), a city
(``420100``) or a district (``420102``); a regulator of a region supervises every region inside
it."""

from __future__ import annotations


def covering_regions(region_code: str) -> tuple[str, ...]:
    """The region and the city and province around it, closest first."""
    return tuple(dict.fromkeys((region_code, region_code[:4] + "00", region_code[:2] + "0000")))


def covers(regulator_region: str | None, region_code: str) -> bool:
    """Whether a regulator of ``regulator_region`` supervises ``region_code``."""
    return regulator_region is not None and regulator_region in covering_regions(region_code)


def significant(region_code: str) -> str:
    """The digits every code inside the region starts with: ``420000`` → ``42``, ``420100`` →
    ``4201``, ``420102`` → ``420102``."""
    for length in (2, 4):
        if region_code[length:] == "0" * (6 - length):
            return region_code[:length]
    return region_code
