"""Delivery carriers by name, and the two the settings choose: the carrier of ordinary parcels
(``IHOSPITAL_PHARMACY_CARRIER``) and the one of cold-chain parcels
(``IHOSPITAL_PHARMACY_COLD_CHAIN_CARRIER``). Only the sandboxes are built in; SF Express or JD
Logistics implement :class:`~ihospital.pharmacy.carriers.base.Carrier` the same way."""

from __future__ import annotations

from dataclasses import dataclass

from ihospital.billing.sandbox_books import CARRIER_BOOKS_FILE, books_url
from ihospital.config import Settings
from ihospital.core.clock import Clock
from ihospital.errors import NotFound
from ihospital.pharmacy.carriers.base import Carrier
from ihospital.pharmacy.carriers.sandbox import SandboxCarrier

SANDBOX = "sandbox"
SANDBOX_COLD_CHAIN = "sandbox-cold"


@dataclass(frozen=True)
class Carriers:
    by_name: dict[str, Carrier]
    standard: str
    cold_chain: str

    def named(self, name: str) -> Carrier:
        """The carrier called ``name``; an unknown name is not found."""
        carrier = self.by_name.get(name)
        if carrier is None:
            raise NotFound(
                "pharmacy.carrier_unknown",
                "There is no carrier called {carrier}.",
                carrier=name[:32],
            )
        return carrier

    def for_shipment(self, *, cold_chain: bool) -> Carrier:
        """The carrier the settings choose for a parcel: drugs that need 2–8 °C go with the
        cold-chain carrier (issue 6, item 6)."""
        return self.by_name[self.cold_chain if cold_chain else self.standard]


def make_carriers(settings: Settings, clock: Clock) -> Carriers:
    """The sandbox carriers, and the choice of the settings; a choice that names no carrier,
    or a cold-chain carrier that keeps no cold chain, stops the start-up."""
    url = books_url(settings, CARRIER_BOOKS_FILE)
    by_name: dict[str, Carrier] = {
        name: SandboxCarrier(
            name,
            settings.carrier_sandbox_key,
            clock,
            database_url=url,
            cold_chain=cold_chain,
            script=settings.carrier_sandbox_script,
            excursion_celsius=settings.carrier_sandbox_excursion_celsius,
        )
        for name, cold_chain in ((SANDBOX, False), (SANDBOX_COLD_CHAIN, True))
    }
    for chosen in (settings.pharmacy_carrier, settings.pharmacy_cold_chain_carrier):
        if chosen not in by_name:
            raise ValueError(f"there is no carrier called {chosen!r}")
    if not by_name[settings.pharmacy_cold_chain_carrier].cold_chain:
        raise ValueError(f"{settings.pharmacy_cold_chain_carrier!r} keeps no cold chain")
    return Carriers(by_name, settings.pharmacy_carrier, settings.pharmacy_cold_chain_carrier)
