"""The triage knowledge, read once from the reviewable files in ``triage/data``.

- ``symptoms.csv``: the lexicon — standard term (zh, en), body site, colloquial synonyms;
- ``body_sites.csv``, ``sensations.csv`` and ``composites.csv``: words for where and what is
  felt, and the symptom a site and a feeling make together (肚子 + 疼 → 腹痛);
- ``department_weights.csv``: how strongly each symptom points to a national 诊疗科目 code;
- ``context.json`` and ``context_rules.json``: who the patient is (child, pregnancy, elder) and how
  that moves the departments; ``red_flags.json``: the signs that need emergency care first;
- ``common_complaints.csv``: the large buttons of 长辈模式.

Department names come from the directory's seed of 《医疗机构诊疗科目名录》, so triage names a
department exactly as the directory does. The Chinese segmenter is a jieba tokenizer of its own
(the process-wide one is left alone) with every Chinese word of the lexicon as a user word.
"""

from __future__ import annotations

import csv
import json
import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import jieba

import ihospital.directory

DATA_DIR = Path(__file__).resolve().parent / "data"
DEPARTMENTS_CSV = Path(ihospital.directory.__file__).resolve().parent / "data" / "departments.csv"
# Frequency of the lexicon's words in the segmenter: far above ordinary words, so that a
# medical phrase stays one token (胸口疼, 头晕眼花) rather than being cut into common words.
USER_WORD_FREQUENCY = 2_000_000


@dataclass(frozen=True)
class Symptom:
    id: str
    term_zh: str
    term_en: str
    body_site: str


@dataclass(frozen=True)
class Department:
    code: str
    name_zh: str
    name_en: str


@dataclass(frozen=True)
class Word:
    """What a word of the text stands for: ``kind`` is symptom, site, sensation, negation,
    filler, contrast, pregnancy or person; ``value`` the id (or, for a person, months of age)."""

    kind: str
    value: str


@dataclass(frozen=True)
class Knowledge:
    symptoms: dict[str, Symptom]
    departments: dict[str, Department]
    weights: dict[str, tuple[tuple[str, float], ...]]
    words: dict[str, Word]
    composites: dict[tuple[str, str], str]
    sites: dict[str, tuple[str, str]]
    context_rules: tuple[dict[str, Any], ...]
    red_flags: tuple[dict[str, Any], ...]
    common_complaints: tuple[tuple[str, str], ...]
    tokenizer: jieba.Tokenizer
    longest_word: int = 1  # characters of the lexicon's longest word (bounds the look-ups)

    def department_name(self, code: str, language: str) -> str:
        department = self.departments[code]
        return department.name_en if language == "en" else department.name_zh

    def term(self, symptom_id: str, language: str) -> str:
        symptom = self.symptoms[symptom_id]
        return symptom.term_en if language == "en" else symptom.term_zh


def _rows(name: str) -> list[dict[str, str]]:
    with (DATA_DIR / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _json(name: str) -> dict[str, Any]:
    with (DATA_DIR / name).open(encoding="utf-8") as handle:
        return json.load(handle)


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split("|") if part.strip()]


def normalised_word(word: str) -> str:
    """Lower case, single spaces: the form words are looked up in."""
    return " ".join(word.lower().split())


class _WordTable:
    """Words to their meaning; a word claimed twice keeps its first meaning (symptoms are read
    first, so a whole phrase wins over the site or feeling inside it)."""

    def __init__(self) -> None:
        self.words: dict[str, Word] = {}

    def add(self, words: list[str], kind: str, value: str) -> None:
        for word in words:
            self.words.setdefault(normalised_word(word), Word(kind, value))


def _departments() -> dict[str, Department]:
    with DEPARTMENTS_CSV.open(encoding="utf-8", newline="") as handle:
        return {
            row["code"]: Department(row["code"], row["name_zh"], row["name_en"])
            for row in csv.DictReader(handle)
        }


def _tokenizer(words: list[str]) -> jieba.Tokenizer:
    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    for word in words:
        if len(word) > 1 and not word.isascii():
            tokenizer.add_word(word, USER_WORD_FREQUENCY)
    return tokenizer


@lru_cache(maxsize=1)
def load_knowledge() -> Knowledge:
    """Read every data file and build the segmenter (about a second; once per process)."""
    table = _WordTable()
    symptoms: dict[str, Symptom] = {}
    for row in _rows("symptoms.csv"):
        symptoms[row["id"]] = Symptom(row["id"], row["term_zh"], row["term_en"], row["body_site"])
        table.add(
            [
                row["term_zh"],
                row["term_en"],
                *_split(row["synonyms_zh"]),
                *_split(row["synonyms_en"]),
            ],
            "symptom",
            row["id"],
        )
    context = _json("context.json")
    for language in ("zh", "en"):
        table.add(context["pregnancy_words"][language], "pregnancy", "pregnant")
        table.add(context["negation_words"][language], "negation", "not")
        table.add(context["contrast_words"][language], "contrast", "but")
        for person in context["person_words"]:
            table.add(person[language], "person", str(person["age_months"]))
        table.add(context["filler_words"][language], "filler", "")
    sites = {}
    for row in _rows("body_sites.csv"):
        sites[row["id"]] = (row["name_zh"], row["name_en"])
        table.add(_split(row["words_zh"]) + _split(row["words_en"]), "site", row["id"])
    for row in _rows("sensations.csv"):
        table.add(_split(row["words_zh"]) + _split(row["words_en"]), "sensation", row["id"])
    weights: dict[str, list[tuple[str, float]]] = {}
    for row in _rows("department_weights.csv"):
        weights.setdefault(row["symptom"], []).append(
            (row["department_code"], float(row["weight"]))
        )
    composites = {(r["body_site"], r["with"]): r["symptom"] for r in _rows("composites.csv")}
    words = table.words
    return Knowledge(
        symptoms=symptoms,
        departments=_departments(),
        weights={symptom: tuple(pairs) for symptom, pairs in weights.items()},
        words=words,
        composites=composites,
        sites=sites,
        context_rules=tuple(_json("context_rules.json")["rules"]),
        red_flags=tuple(_json("red_flags.json")["rules"]),
        common_complaints=tuple((row["zh"], row["en"]) for row in _rows("common_complaints.csv")),
        tokenizer=_tokenizer(list(words)),
        longest_word=max((len(word) for word in words), default=1),
    )
