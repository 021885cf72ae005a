"""Pinyin of doctors' names for search: 张三丰 → ``zhangsanfeng`` and ``zsf``.

Surnames are read as surnames: a character with several readings has a fixed one as a family
name (单 shàn, 曾 zēng, 解 xiè, 仇 qiú …), which pypinyin's everyday reading gets wrong. The
surname is converted apart from the given name so that a phrase across both cannot change it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pypinyin import Style, lazy_pinyin

COMPOUND_SURNAMES: dict[str, tuple[str, ...]] = {
    "单于": ("chan", "yu"),
    "尉迟": ("yu", "chi"),
    "万俟": ("mo", "qi"),
    "长孙": ("zhang", "sun"),
    "澹台": ("tan", "tai"),
    "乐正": ("yue", "zheng"),
    "欧阳": ("ou", "yang"),
    "司马": ("si", "ma"),
    "诸葛": ("zhu", "ge"),
    "上官": ("shang", "guan"),
    "令狐": ("ling", "hu"),
    "皇甫": ("huang", "fu"),
    "东方": ("dong", "fang"),
    "公孙": ("gong", "sun"),
    "慕容": ("mu", "rong"),
    "夏侯": ("xia", "hou"),
    "司徒": ("si", "tu"),
    "端木": ("duan", "mu"),
}
SURNAME_READINGS: dict[str, str] = {
    "单": "shan",
    "曾": "zeng",
    "解": "xie",
    "仇": "qiu",
    "区": "ou",
    "查": "zha",
    "乐": "yue",
    "朴": "piao",
    "覃": "qin",
    "盖": "ge",
    "翟": "zhai",
    "缪": "miao",
    "秘": "bi",
    "繁": "po",
    "种": "chong",
    "召": "shao",
    "员": "yun",
    "黑": "he",
    "句": "gou",
    "折": "she",
    "隗": "wei",
    "阚": "kan",
    "能": "nai",
    "祭": "zhai",
    "都": "du",
    "角": "jue",
    "薄": "bo",
    "藏": "zang",
    "长": "chang",
}
_LETTERS = re.compile(r"[a-z]+")


@dataclass(frozen=True)
class NamePinyin:
    full: str
    initials: str


def _surname_syllables(name: str) -> tuple[list[str], str]:
    """The surname's syllables and the rest of the name."""
    for surname, syllables in COMPOUND_SURNAMES.items():
        if name.startswith(surname) and len(name) > len(surname):
            return list(syllables), name[len(surname) :]
    first = name[:1]
    if first in SURNAME_READINGS and len(name) > 1:
        return [SURNAME_READINGS[first]], name[1:]
    return [], name


def _syllables(text: str) -> list[str]:
    """Pinyin syllables of Han characters, lower-case words of other letters (ü written v)."""
    words: list[str] = []
    for chunk in lazy_pinyin(text, style=Style.NORMAL, v_to_u=False, errors="default"):
        words.extend(_LETTERS.findall(chunk.lower()))
    return words


def name_pinyin(name: str) -> NamePinyin:
    """Full pinyin without spaces and the initials of each syllable, both lower-case."""
    surname, given = _surname_syllables(name.strip())
    return _joined(surname + _syllables(given))


def phrase_pinyin(phrase: str) -> NamePinyin:
    """Like :func:`name_pinyin` for a phrase that is not a person's name (a diagnosis): every
    character in its everyday reading, 单纯 ``danchun``."""
    return _joined(_syllables(phrase.strip()))


def _joined(syllables: list[str]) -> NamePinyin:
    return NamePinyin(
        full="".join(syllables)[:256],
        initials="".join(syllable[0] for syllable in syllables)[:64],
    )
