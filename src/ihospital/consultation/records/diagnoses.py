"""Diagnoses of ICD-10 from the seed (``consultation/data/icd10.csv``): search for the doctor
writing a record, and the check of the codes a record gives."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.consultation.records.models import Icd10Code
from ihospital.directory.validation import LONG_TEXT_MESSAGE, is_long_text
from ihospital.errors import Unprocessable

SEARCH_LIMIT = 20
MAX_DIAGNOSES = 10
_HAN = re.compile(r"[\u4e00-\u9fff]")
_ASCII_WORD = re.compile(r"[A-Za-z0-9.]+")
_CODE_SHAPE = re.compile(r"[A-Z][0-9]{2}(\.[0-9A-Z]{1,2})?")
DIAGNOSIS_REQUIRED_MESSAGE = "Give at least one diagnosis (an ICD-10 code) in the record."
DIAGNOSIS_UNKNOWN_MESSAGE = "{diagnosis_code} is not an ICD-10 code of the diagnosis list."
DIAGNOSIS_REPEATED_MESSAGE = "Diagnosis {diagnosis_code} is given twice."
DIAGNOSES_TOO_MANY_MESSAGE = "Give at most {limit} diagnoses."


@dataclass(frozen=True)
class Diagnosis:
    code: str
    name: str


async def search_diagnoses(session: AsyncSession, *, query: str) -> Sequence[Icd10Code]:
    """Up to :data:`SEARCH_LIMIT` diagnoses, by code: ``q`` starts a code (``i10``, ``E11``),
    is in the Chinese name (``糖尿病``) or the English one, or starts or is in the name's full
    pinyin (``tangniao``) or starts its initials (``tnb``). The seed is public: no audit."""
    query = query.strip()
    if not is_long_text(query):
        raise Unprocessable("record.query_invalid", LONG_TEXT_MESSAGE, field="q")
    options = [Icd10Code.name_zh.contains(query, autoescape=True)]
    if not _HAN.search(query) and _ASCII_WORD.fullmatch(query.replace(" ", "")):
        compact = query.replace(" ", "").lower()
        options += [
            Icd10Code.code.startswith(compact.upper(), autoescape=True),
            Icd10Code.name_pinyin.contains(compact, autoescape=True),
            Icd10Code.name_initials.startswith(compact, autoescape=True),
            Icd10Code.name_en.ilike(f"%{_escaped(query)}%", escape="\\"),
        ]
    statement = select(Icd10Code).where(or_(*options)).order_by(Icd10Code.code)
    return (await session.scalars(statement.limit(SEARCH_LIMIT))).all()


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def checked_diagnoses(session: AsyncSession, codes: Sequence[str]) -> list[Diagnosis]:
    """The diagnoses of ``codes`` (in order, names from the seed): at least one, at most
    :data:`MAX_DIAGNOSES`, each a seed code given once; otherwise a problem naming the field."""
    codes = [code.strip().upper() for code in codes]
    if not codes:
        raise Unprocessable(
            "record.diagnosis_required", DIAGNOSIS_REQUIRED_MESSAGE, field="diagnoses"
        )
    if len(codes) > MAX_DIAGNOSES:
        raise Unprocessable(
            "record.diagnoses_too_many",
            DIAGNOSES_TOO_MANY_MESSAGE,
            field="diagnoses",
            limit=MAX_DIAGNOSES,
        )
    seen: set[str] = set()
    for code in codes:
        if code in seen:
            raise Unprocessable(
                "record.diagnosis_repeated",
                DIAGNOSIS_REPEATED_MESSAGE,
                field="diagnoses",
                diagnosis_code=code,
            )
        seen.add(code)
    known = await _names(session, codes)
    for code in codes:
        if code not in known:
            raise Unprocessable(
                "record.diagnosis_unknown",
                DIAGNOSIS_UNKNOWN_MESSAGE,
                field="diagnoses",
                diagnosis_code=code,
            )
    return [Diagnosis(code, known[code]) for code in codes]


async def _names(session: AsyncSession, codes: Sequence[str]) -> dict[str, str]:
    shaped = [code for code in codes if _CODE_SHAPE.fullmatch(code)]
    if not shaped:
        return {}
    rows = await session.scalars(select(Icd10Code).where(Icd10Code.code.in_(shaped)))
    return {row.code: row.name_zh for row in rows}


async def diagnosis_names(session: AsyncSession, codes: Sequence[str]) -> list[Diagnosis]:
    """``codes`` (trimmed, upper case, each once, in order) with their names from the seed; a
    code not in the seed keeps an empty name (a form shows it with its refusal)."""
    codes = list(dict.fromkeys(code.strip().upper() for code in codes if code.strip()))
    known = await _names(session, codes)
    return [Diagnosis(code, known.get(code, "")) for code in codes]
