"""Reading the drug catalogue from CSV: the seed in ``prescribing/data`` (migration 0030) and a
platform admin's import read the same way, row by row, and every bad row is reported with its
line, its column and what is wrong, in zh-CN and English.

A file is refused whole when any row is bad, so an import never leaves half a catalogue. The
special-management class (R10) and the flags the prescribing rules read (antimicrobial and
special storage for R18, cold chain for delivery) must be given explicitly for every drug.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from ihospital.core.i18n import translate
from ihospital.directory.pinyin import phrase_pinyin
from ihospital.errors import Unprocessable, UnsupportedMediaType
from ihospital.prescribing.models import (
    INSURANCE_CLASSES,
    SEVERITIES,
    SPECIAL_CLASSES,
    SUBJECT_KINDS,
)
from ihospital.prescribing.terms import ROUTES

DATA_DIR = Path(__file__).resolve().parent / "data"
DRUGS_CSV = DATA_DIR / "drugs.csv"
INTERACTIONS_CSV = DATA_DIR / "interactions.csv"
TEXT_COLUMNS = {  # column -> most characters (the table's limits)
    "code": 32,
    "generic_name_zh": 128,
    "generic_name_en": 128,
    "brand_name_zh": 128,
    "ingredient": 64,
    "atc_code": 8,
    "dosage_form": 32,
    "strength_unit": 8,
    "unit": 16,
    "package_unit": 16,
    "default_route": 16,
    "manufacturer": 128,
    "approval_number": 32,
}
DECIMAL_COLUMNS = ("strength_value", "usual_dose_min", "usual_dose_max", "max_daily_dose")
FLAG_COLUMNS = ("prescription_only", "antimicrobial", "special_storage", "cold_chain")
OPTIONAL_COLUMNS = ("brand_name_zh", "special_class")
DRUG_COLUMNS = (
    "code",
    "generic_name_zh",
    "generic_name_en",
    "brand_name_zh",
    "ingredient",
    "atc_code",
    "dosage_form",
    "strength_value",
    "strength_unit",
    "unit",
    "package_size",
    "package_unit",
    "default_route",
    "usual_dose_min",
    "usual_dose_max",
    "max_daily_dose",
    "insurance_class",
    "prescription_only",
    "special_class",
    "antimicrobial",
    "special_storage",
    "cold_chain",
    "manufacturer",
    "approval_number",
    "reference_price_fen",
)
INTERACTION_COLUMNS = (
    "first_kind",
    "first_code",
    "second_kind",
    "second_code",
    "severity",
    "effect_zh",
    "effect_en",
    "source",
)
MAX_REPORTED = 200  # row errors listed in one answer; the count says how many there are
MAX_WHOLE = 2**31 - 1
# 医保药品分类与代码: X (Western medicine), the ATC class, the generic name's and the dosage
# form's serials, then optionally the specification/package and the manufacturer
_CODE = re.compile(r"X[A-Z][0-9]{2}[A-Z]{2}[A-Z][0-9]{3}[A-Z][0-9]{3}(?:[0-9]{9})?")
_ATC = re.compile(r"[A-Z][0-9]{2}(?:[A-Z](?:[A-Z](?:[0-9]{2})?)?)?")
_APPROVAL = re.compile(r"国药准字(?:HJ|SJ|ZJ|HC|SC|ZC|[HSZJBTF])[0-9]{8}")
_INGREDIENT = re.compile(r"[a-z0-9][a-z0-9 ()'/,.\-]*")
_DECIMAL = re.compile(r"[0-9]{1,8}(?:\.[0-9]{1,4})?")
_WHOLE = re.compile(r"[0-9]{1,10}")
_BINARY_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"%PDF", b"PK\x03\x04", b"\xd0\xcf\x11\xe0", b"GIF8")
YES = {"true", "yes", "1", "是", "y"}
NO = {"false", "no", "0", "否", "n"}

NOT_CSV_MESSAGE = "Upload the catalogue as a CSV file (UTF-8 or GBK text, not a spreadsheet)."
REJECTED_MESSAGE = "The file has {error_count} errors; nothing was imported."
EMPTY_MESSAGE = "The file has no drugs."
MISSING_COLUMN_MESSAGE = "The column {column} is missing from the first line."
UNKNOWN_COLUMN_MESSAGE = "{column} is not a column of the drug catalogue."
FIELD_COUNT_MESSAGE = "This line has {count} fields; the first line has {expected}."
REQUIRED_MESSAGE = "Fill in {column}."
TOO_LONG_MESSAGE = "Write at most {limit} characters."
CODE_MESSAGE = "{value} is not a national insurance drug code (like XC08CAA039A001)."
DUPLICATE_CODE_MESSAGE = "The code {value} is also on line {other_line}."
ATC_MESSAGE = "{value} is not an ATC code (like C08CA01)."
INGREDIENT_MESSAGE = "Write the ingredient in lower-case English (its INN), like amlodipine."
NUMBER_MESSAGE = "{value} is not a number above 0 with at most 8 digits and 4 decimals."
WHOLE_MESSAGE = "{value} is not a whole number in range."
FLAG_MESSAGE = "{value} is neither true nor false."
INSURANCE_MESSAGE = "Unknown insurance class {value}: use A (甲类), B (乙类) or C (丙类)."
SPECIAL_CLASS_MESSAGE = (
    "Unknown special-management class {value}: leave it empty or use one of {classes}."
)
APPROVAL_MESSAGE = "{value} is not an approval number (like 国药准字H20030001)."
DOSE_ORDER_MESSAGE = "The usual minimum dose {minimum} is above the usual maximum dose {maximum}."
DAILY_DOSE_MESSAGE = "The maximum daily dose {daily} is below the usual maximum dose {maximum}."
CHOICE_MESSAGE = "{value} is not one of {choices}."


@dataclass(frozen=True)
class RowError:
    """What is wrong with one value: ``line`` of the file (1 is the header), ``column``, and an
    English message id with its fields."""

    line: int
    column: str
    message: str
    fields: dict[str, Any] = field(default_factory=dict)

    def as_problem(self, language: str | None = None) -> dict[str, Any]:
        return {
            "line": self.line,
            "column": self.column,
            "message": translate(self.message, language, column=self.column, **self.fields),
        }


class CatalogueRejected(Unprocessable):
    """A CSV file with bad rows: the problem lists them (at most :data:`MAX_REPORTED`)."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(
            "drugs.import_rejected", REJECTED_MESSAGE, field="file", error_count=len(errors)
        )
        self.errors = errors

    def to_problem(self, language: str, instance: str | None = None) -> dict[str, Any]:
        body = super().to_problem(language, instance)
        body["errors"] = [error.as_problem(language) for error in self.errors[:MAX_REPORTED]]
        return body


def not_csv() -> UnsupportedMediaType:
    return UnsupportedMediaType("drugs.not_csv", NOT_CSV_MESSAGE, field="file")


def decode_csv(data: bytes) -> str:
    """The text of an uploaded CSV file: UTF-8 (with or without the BOM Excel writes) or GBK
    (what Excel saves on a Chinese Windows); a binary file (a picture, a PDF, an .xlsx) is
    refused."""
    if b"\x00" in data or data.startswith(_BINARY_MAGIC):
        raise not_csv()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise not_csv()


def _lines(text: str, columns: tuple[str, ...]) -> tuple[list[tuple[int, dict[str, str]]], list]:
    """The rows of ``text`` by column name with their line numbers, and the errors of the
    header and of lines with the wrong number of fields."""
    reader = csv.reader(io.StringIO(text))
    header = [name.strip() for name in next(reader, [])]
    errors = [RowError(1, name, UNKNOWN_COLUMN_MESSAGE) for name in header if name not in columns]
    errors += [RowError(1, name, MISSING_COLUMN_MESSAGE) for name in columns if name not in header]
    rows: list[tuple[int, dict[str, str]]] = []
    for values in reader:
        if not any(value.strip() for value in values):
            continue
        if len(values) != len(header):
            count = {"count": len(values), "expected": len(header)}
            errors.append(RowError(reader.line_num, "", FIELD_COUNT_MESSAGE, count))
            continue
        rows.append((reader.line_num, dict(zip(header, values, strict=True))))
    if not rows and not errors:
        errors.append(RowError(1, "", EMPTY_MESSAGE))
    return rows, errors


class _Row:
    """Checks the values of one line, collecting an error per bad value."""

    def __init__(self, line: int, values: dict[str, str], errors: list[RowError]) -> None:
        self.line, self.values, self.errors = line, values, errors

    def fail(self, column: str, message: str, **fields: Any) -> None:
        self.errors.append(RowError(self.line, column, message, fields))

    def text(self, column: str, limit: int, *, required: bool = True) -> str | None:
        value = self.values[column].strip()
        if not value:
            if required:
                self.fail(column, REQUIRED_MESSAGE)
            return None
        if len(value) > limit:
            self.fail(column, TOO_LONG_MESSAGE, limit=limit)
        return value

    def shaped(self, column: str, pattern: re.Pattern[str], message: str) -> str | None:
        value = self.text(column, TEXT_COLUMNS.get(column, 64))
        if value is not None and not pattern.fullmatch(value):
            self.fail(column, message, value=value)
            return None
        return value

    def choice(self, column: str, allowed: Iterable[str], message: str, **fields: Any) -> Any:
        value = self.values[column].strip()
        if value and value not in allowed:
            self.fail(column, message, value=value, **fields)
        return value or None

    def decimal(self, column: str, *, required: bool = True) -> Decimal | None:
        value = self.values[column].strip()
        if not value:
            if required:
                self.fail(column, REQUIRED_MESSAGE)
            return None
        try:
            number = Decimal(value) if _DECIMAL.fullmatch(value) else None
        except InvalidOperation:
            number = None
        if number is None or number <= 0:
            self.fail(column, NUMBER_MESSAGE, value=value)
            return None
        return number

    def whole(self, column: str, *, minimum: int) -> int | None:
        value = self.values[column].strip()
        if not value:
            self.fail(column, REQUIRED_MESSAGE)
            return None
        if not _WHOLE.fullmatch(value) or not minimum <= int(value) <= MAX_WHOLE:
            self.fail(column, WHOLE_MESSAGE, value=value)
            return None
        return int(value)

    def flag(self, column: str) -> bool | None:
        value = self.values[column].strip().lower()
        if value in YES or value in NO:
            return value in YES
        if value:
            self.fail(column, FLAG_MESSAGE, value=value)
        else:
            self.fail(column, REQUIRED_MESSAGE)
        return None


def _drug(row: _Row) -> dict[str, Any]:
    drug: dict[str, Any] = {
        name: row.text(name, limit, required=name not in OPTIONAL_COLUMNS)
        for name, limit in TEXT_COLUMNS.items()
        if name not in ("code", "atc_code", "ingredient", "approval_number")
    }
    drug["code"] = row.shaped("code", _CODE, CODE_MESSAGE)
    drug["atc_code"] = row.shaped("atc_code", _ATC, ATC_MESSAGE)
    drug["approval_number"] = row.shaped("approval_number", _APPROVAL, APPROVAL_MESSAGE)
    drug["ingredient"] = row.text("ingredient", TEXT_COLUMNS["ingredient"])
    if drug["ingredient"] and not _INGREDIENT.fullmatch(drug["ingredient"]):
        row.fail("ingredient", INGREDIENT_MESSAGE)
    for name in DECIMAL_COLUMNS:
        drug[name] = row.decimal(name, required=name == "strength_value")
    drug["package_size"] = row.whole("package_size", minimum=1)
    drug["reference_price_fen"] = row.whole("reference_price_fen", minimum=0)
    for name in FLAG_COLUMNS:
        drug[name] = row.flag(name)
    drug["insurance_class"] = row.choice("insurance_class", INSURANCE_CLASSES, INSURANCE_MESSAGE)
    if drug["insurance_class"] is None:
        row.fail("insurance_class", REQUIRED_MESSAGE)
    drug["default_route"] = row.choice(
        "default_route", ROUTES, CHOICE_MESSAGE, choices=", ".join(ROUTES)
    )
    drug["special_class"] = row.choice(
        "special_class", SPECIAL_CLASSES, SPECIAL_CLASS_MESSAGE, classes=", ".join(SPECIAL_CLASSES)
    )
    low, high, daily = drug["usual_dose_min"], drug["usual_dose_max"], drug["max_daily_dose"]
    if low is not None and high is not None and low > high:
        row.fail("usual_dose_min", DOSE_ORDER_MESSAGE, minimum=low, maximum=high)
    if high is not None and daily is not None and daily < high:
        row.fail("max_daily_dose", DAILY_DOSE_MESSAGE, daily=daily, maximum=high)
    return drug


def _parsed(
    text: str, columns: tuple[str, ...], read: Callable[[_Row], dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[RowError]]:
    lines, errors = _lines(text, columns)
    if errors and any(error.line == 1 for error in errors):
        return [], errors  # without the right header no row can be read
    rows = []
    for line, values in lines:
        row = read(_Row(line, values, errors))
        row["_line"] = line
        rows.append(row)
    return rows, errors


def parse_drugs(text: str) -> list[dict[str, Any]]:
    """The drugs of a catalogue CSV (columns :data:`DRUG_COLUMNS`, in any order) as values of
    the ``drugs`` table with the pinyin of the Chinese names; :class:`CatalogueRejected` listing
    every bad value when any row is bad, a code given twice included."""
    rows, errors = _parsed(text, DRUG_COLUMNS, _drug)
    first_line: dict[str, int] = {}
    for row in rows:
        code, line = row["code"], row.pop("_line")
        if code is not None and code in first_line:
            fields = {"value": code, "other_line": first_line[code]}
            errors.append(RowError(line, "code", DUPLICATE_CODE_MESSAGE, fields))
        elif code is not None:
            first_line[code] = line
        pinyin = phrase_pinyin(f"{row['generic_name_zh'] or ''}{row['brand_name_zh'] or ''}")
        row["name_pinyin"], row["name_initials"] = pinyin.full, pinyin.initials
    if errors:
        raise CatalogueRejected(sorted(errors, key=lambda error: error.line))
    return rows


def _interaction(row: _Row) -> dict[str, Any]:
    kinds = ", ".join(SUBJECT_KINDS)
    values: dict[str, Any] = {
        "first_kind": row.choice("first_kind", SUBJECT_KINDS, CHOICE_MESSAGE, choices=kinds),
        "second_kind": row.choice("second_kind", SUBJECT_KINDS, CHOICE_MESSAGE, choices=kinds),
        "severity": row.choice(
            "severity", SEVERITIES, CHOICE_MESSAGE, choices=", ".join(SEVERITIES)
        ),
    }
    for name, limit in (
        ("first_code", 64),
        ("second_code", 64),
        ("effect_zh", 1000),
        ("effect_en", 1000),
        ("source", 256),
    ):
        values[name] = row.text(name, limit)
    return values


def parse_interactions(text: str) -> list[dict[str, Any]]:
    """The curated interactions of a CSV (columns :data:`INTERACTION_COLUMNS`);
    :class:`CatalogueRejected` when any row is bad."""
    rows, errors = _parsed(text, INTERACTION_COLUMNS, _interaction)
    for row in rows:
        row.pop("_line")
    if errors:
        raise CatalogueRejected(errors)
    return rows


def seed_drugs() -> list[dict[str, Any]]:
    """The drugs of the seed file ``data/drugs.csv``."""
    return parse_drugs(DRUGS_CSV.read_text(encoding="utf-8"))


def seed_interactions() -> list[dict[str, Any]]:
    """The interactions of the seed file ``data/interactions.csv``."""
    return parse_interactions(INTERACTIONS_CSV.read_text(encoding="utf-8"))
