"""The coded words of drugs and prescription items and what a reader sees for them.

The catalogue and the prescriptions store codes: dosage forms (``tablet``), dispensing and
package units (``capsule``, ``box``), routes (``oral``) and frequencies (``bid``). Pages and the
printed prescription show them in the reader's language through :func:`form_label`,
:func:`unit_label`, :func:`route_label` and :func:`frequency_label` (the template filters of the
same names). A code outside these lists (a strength unit such as ``mg``, or a form an imported
catalogue brought) is shown as it is.
"""

from __future__ import annotations

from ihospital.core.i18n import gettext

FORM_MESSAGES = {
    "tablet": "Tablet",
    "enteric-coated tablet": "Enteric-coated tablet",
    "sustained-release tablet": "Sustained-release tablet",
    "extended-release tablet": "Extended-release tablet",
    "controlled-release tablet": "Controlled-release tablet",
    "modified-release tablet": "Modified-release tablet",
    "sublingual tablet": "Sublingual tablet",
    "capsule": "Capsule",
    "soft capsule": "Soft capsule",
    "enteric-coated capsule": "Enteric-coated capsule",
    "sustained-release capsule": "Sustained-release capsule",
    "powder": "Powder",
    "oral solution": "Oral solution",
    "oral suspension": "Oral suspension",
    "oral emulsion": "Oral emulsion",
    "injection": "Injection",
    "powder for injection": "Powder for injection",
    "inhalation powder": "Inhalation powder",
    "inhalation suspension": "Inhalation suspension",
    "aerosol": "Aerosol",
    "nasal spray": "Nasal spray",
    "eye drops": "Eye drops",
    "ointment": "Ointment",
    "cream": "Cream",
    "gel": "Gel",
    "transdermal patch": "Transdermal patch",
}
UNIT_MESSAGES = {
    "tablet": "tablet",
    "capsule": "capsule",
    "sachet": "sachet",
    "ampoule": "ampoule",
    "vial": "vial",
    "syringe": "syringe",
    "pen": "pen",
    "cartridge": "cartridge",
    "inhaler": "inhaler",
    "canister": "canister",
    "patch": "patch",
    "tube": "tube",
    "bottle": "bottle",
    "box": "box",
}
ROUTE_MESSAGES = {
    "oral": "oral",
    "im": "intramuscular injection",
    "iv": "intravenous injection",
    "sc": "subcutaneous injection",
    "inhalation": "inhalation",
    "nasal": "nasal",
    "ophthalmic": "eye drops",
    "sublingual": "sublingual",
    "topical": "for external use",
    "transdermal": "transdermal patch",
}
FREQUENCY_MESSAGES = {
    "qd": "once a day",
    "bid": "twice a day",
    "tid": "three times a day",
    "qid": "four times a day",
    "qn": "every night",
    "q6h": "every 6 hours",
    "q8h": "every 8 hours",
    "q12h": "every 12 hours",
    "qod": "every other day",
    "biw": "twice a week",
    "qw": "once a week",
    "prn": "when needed",
}
ROUTES = tuple(ROUTE_MESSAGES)


def coded_label(messages: dict[str, str], code: str) -> str:
    """The translated label of ``code`` in ``messages``, or the code itself when unknown."""
    return gettext(messages[code]) if code in messages else code


def form_label(code: str) -> str:
    return coded_label(FORM_MESSAGES, code)


def unit_label(code: str) -> str:
    return coded_label(UNIT_MESSAGES, code)


def route_label(code: str) -> str:
    return coded_label(ROUTE_MESSAGES, code)


def frequency_label(code: str) -> str:
    return coded_label(FREQUENCY_MESSAGES, code)


FILTERS = {
    "form_label": form_label,
    "unit_label": unit_label,
    "route_label": route_label,
    "frequency_label": frequency_label,
}
