"""Translations from gettext catalogs (Babel), zh-CN by default, English complete.

Message ids are English, so English is complete by construction. Each domain keeps its own
``<domain>.po`` under ``locale/zh_CN/LC_MESSAGES``; all files of a locale are merged at start-up.
A test extracts every message id from code and templates and fails on a missing zh-CN entry.
"""

from __future__ import annotations

from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path

from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DEFAULT_LANGUAGE = "zh-CN"
LANGUAGES = {"zh-CN": "zh_CN", "en": "en"}  # our tag -> catalog folder
LANGUAGE_NAMES = {"zh-CN": "中文", "en": "English"}

current_language: ContextVar[str] = ContextVar("current_language", default=DEFAULT_LANGUAGE)


@lru_cache
def catalog(language: str) -> dict[str, str]:
    """All messages of one language, merged from every domain's catalog."""
    folder = LOCALE_DIR / LANGUAGES[language] / "LC_MESSAGES"
    messages: dict[str, str] = {}
    for po_file in sorted(folder.glob("*.po")):
        with po_file.open("rb") as handle:
            for message in read_po(handle):
                if message.id and message.string:
                    messages[str(message.id)] = str(message.string)
    return messages


def normalise_language(value: str | None) -> str | None:
    """Map 'zh', 'zh-cn', 'zh_CN', 'en-US' ... to a supported language, or None."""
    if not value:
        return None
    tag = value.strip().replace("_", "-").lower()
    if tag.startswith("zh"):
        return "zh-CN"
    if tag.startswith("en"):
        return "en"
    return None


def pick_language(accept_language: str | None) -> str:
    """The supported language the Accept-Language header prefers most (by ``q``), else zh-CN."""
    ranked: list[tuple[float, str]] = []
    for part in (accept_language or "").split(","):
        tag, _, params = part.partition(";")
        weight = params.strip().removeprefix("q=")
        try:
            quality = float(weight) if params else 1.0
        except ValueError:
            quality = 0.0
        found = normalise_language(tag)
        if found and quality > 0:
            ranked.append((quality, found))
    ranked.sort(key=lambda item: -item[0])  # stable: equal weights keep the header's order
    return ranked[0][1] if ranked else DEFAULT_LANGUAGE


def translate(message: str, language: str | None = None, **fields: object) -> str:
    """Translate an English message id and fill ``{named}`` fields."""
    text = catalog(language or current_language.get()).get(message, message)
    if fields:
        try:
            return text.format(**fields)
        except (KeyError, IndexError, ValueError):
            return text
    return text


def gettext(message: str, **fields: object) -> str:
    """``_()`` in templates and code: translate into the current request's language."""
    return translate(message, None, **fields)
