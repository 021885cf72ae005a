"""Reading a patient's own words: clauses, jieba tokens, lexicon words, negation, body sites,
durations, temperatures and stated ages.

Chinese is segmented by the knowledge's jieba tokenizer; English words come out of it as tokens
of their own, so mixed text (我headache三天) is read in one pass. Consecutive tokens are joined
and looked up longest first, so a phrase (sore throat, 一侧肢体无力) wins over its parts.
Negation (不, 没有, no, without) covers the symptoms that follow it in the clause until a word
that is neither a symptom, a body site nor a small connecting word, or a contrast (但是, but).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from ihospital.triage.knowledge import Knowledge, Word, normalised_word

MAX_WORD_TOKENS = 6
NEGATION_CHARACTERS = "不没无未"
_CLAUSE_BREAK = re.compile(r"[，,。;；!！?？\n]|\.(?!\d)")
_CONTRACTIONS = (
    (re.compile(r"\bcan'?t\b|\bcannot\b"), "can not"),
    (re.compile(r"\bwon'?t\b"), "will not"),
    (re.compile(r"n't\b"), " not"),
)
_CHINESE_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6}
_CHINESE_DIGITS |= {"七": 7, "八": 8, "九": 9, "几": 3, "半": 0.5}
_ENGLISH_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
_ENGLISH_NUMBERS |= {"six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "a few": 3}
_ENGLISH_NUMBERS |= {"several": 3, "a couple of": 2, "couple of": 2}
_NUMBER = r"(\d{1,3}(?:\.\d)?|[零一二两三四五六七八九十百几半]+)"
_DAYS_OF_UNIT = {"小时": 1 / 24, "钟头": 1 / 24, "天": 1, "日": 1, "周": 7, "星期": 7, "礼拜": 7}
_DAYS_OF_UNIT |= {"月": 30, "年": 365, "hour": 1 / 24, "day": 1, "week": 7, "month": 30}
_DAYS_OF_UNIT |= {"year": 365}
_DURATION_ZH = re.compile(_NUMBER + r"\s*个?\s*多?\s*(小时|钟头|天|日|周|星期|礼拜|月|年)")
_DURATION_EN = re.compile(
    r"\b(\d{1,3}|a few|several|a couple of|couple of|an?|one|two|three|four|five|six|seven"
    r"|eight|nine|ten)\s+(hour|day|week|month|year)s?\b"
)
# 宝宝8个月 / 孩子刚两个月 / 宝宝出生10天: the child first, then its age (not 两个月来, a duration)
_CHILD_FIRST = (
    r"(?:宝宝|宝贝|孩子|小孩|婴儿|儿子|女儿|小宝)\s*[，,、]?\s*(?:才|刚|刚满|满|出生)?\s*"
)
_AGE_PATTERNS = (
    (re.compile(_NUMBER + r"\s*(?:周岁|岁)"), 12),
    (re.compile(_CHILD_FIRST + _NUMBER + r"\s*个?\s*月(?!\s*(?:来|以来|多来))"), 1),
    (re.compile(_CHILD_FIRST + _NUMBER + r"\s*(?:天|周)(?!\s*(?:来|以来|多来))"), 0),
    (re.compile(_NUMBER + r"\s*个?\s*月\s*(?:大|的宝宝|的孩子|的婴儿|的小孩|宝宝)"), 1),
    (re.compile(_NUMBER + r"\s*(?:天大|天的宝宝|周大)"), 0),
    (re.compile(r"\b(\d{1,3})[\s-]*(?:years?|yrs?)[\s-]*old\b"), 12),
    (re.compile(r"\baged?\s+(\d{1,3})\b"), 12),
    (re.compile(r"\b(\d{1,2})[\s-]*months?[\s-]*old\b"), 1),
    (re.compile(r"\b(\d{1,2})[\s-]*(?:weeks?|days?)[\s-]*old\b"), 0),
)
_TEMPERATURE = re.compile(
    r"(\d{2,3}(?:\.\d{1,2})?)\s*(℃|℉|°\s*c|°\s*f|°|度|摄氏度|degrees?\s*(?:c|celsius|f|fahrenheit)?)"
)
_TEMPERATURE_ZH = re.compile(r"([三四]十[一二三四五六七八九]?)度([一二三四五六七八九])?")
FEVER_CELSIUS = 37.3
HIGH_FEVER_CELSIUS = 39.0


@dataclass
class Finding:
    """A symptom the text names: the patient's words for it, whether it was denied, and how
    long it has lasted when the text says so."""

    symptom: str
    words: str
    negated: bool = False
    duration_days: float | None = None
    duration_words: str | None = None


@dataclass
class Reading:
    findings: list[Finding] = field(default_factory=list)
    age_months: int | None = None
    person_months: int | None = None
    pregnant: bool | None = None


@dataclass(frozen=True)
class _Item:
    kind: str
    value: str
    text: str


def normalise_text(text: str) -> str:
    """Full-width to half-width, lower case, English contractions spelt out."""
    text = unicodedata.normalize("NFKC", text).lower().replace("’", "'")
    for pattern, replacement in _CONTRACTIONS:
        text = pattern.sub(replacement, text)
    return text


def has_words(text: str) -> bool:
    """Whether the text has any letter or Chinese character (not only emoji or punctuation)."""
    return any(unicodedata.category(char).startswith("L") for char in text)


def chinese_number(text: str) -> float | None:
    """十五 → 15, 二十 → 20, 两 → 2, 3 → 3; None when it is no number."""
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return float(text)
    if "百" in text or not text:
        return None
    if "十" in text:
        tens, _, ones = text.partition("十")
        tens_value = _CHINESE_DIGITS.get(tens, 1) if tens else 1
        ones_value = _CHINESE_DIGITS.get(ones, 0) if ones else 0
        return float(tens_value * 10 + ones_value)
    if text.startswith("几"):
        return 3.0
    if len(text) == 1 and text in _CHINESE_DIGITS:
        return float(_CHINESE_DIGITS[text])
    return None


def _stated_age(text: str) -> tuple[int | None, str]:
    """The age the text states in months, and the text with that phrase blanked out (so 3个月大
    is not read as a duration)."""
    for pattern, months_per_unit in _AGE_PATTERNS:
        match = pattern.search(text)
        if match:
            value = chinese_number(match.group(1))
            if value is not None and value <= 130:
                blanked = text[: match.start()] + " " * len(match.group(0)) + text[match.end() :]
                return int(value * months_per_unit), blanked
    return None, text


def _temperature(text: str) -> tuple[float, str] | None:
    """The highest body temperature the text states, in °C, with its words."""
    found: list[tuple[float, str]] = []
    for match in _TEMPERATURE.finditer(text):
        value, unit = float(match.group(1)), match.group(2).replace(" ", "")
        if "f" in unit or unit == "℉":
            value = (value - 32) * 5 / 9
        found.append((value, match.group(0)))
    for match in _TEMPERATURE_ZH.finditer(text):
        whole = chinese_number(match.group(1)) or 0
        tenth = chinese_number(match.group(2)) if match.group(2) else 0
        found.append((whole + (tenth or 0) / 10, match.group(0)))
    plausible = [item for item in found if 34 <= item[0] <= 43]
    return max(plausible) if plausible else None


def _duration(clause: str) -> tuple[float, str] | None:
    match = _DURATION_ZH.search(clause)
    if match:
        number = chinese_number(match.group(1))
        if number is not None:
            return number * _DAYS_OF_UNIT[match.group(2)], match.group(0)
    match = _DURATION_EN.search(clause)
    if match:
        count = match.group(1)
        number = float(count) if count.isdigit() else _ENGLISH_NUMBERS[count]
        return number * _DAYS_OF_UNIT[match.group(2)], match.group(0)
    return None


def _joined(tokens: list[str]) -> str:
    text = tokens[0]
    for token in tokens[1:]:
        ascii_words = text[-1].isascii() and text[-1].isalnum() and token[0].isascii()
        text += f" {token}" if ascii_words and token[0].isalnum() else token
    return text


def _inside(token: str, knowledge: Knowledge) -> list[_Item]:
    """Lexicon words inside a token jieba kept whole (头疼脑热, 不痛): words of two or more
    characters, and a leading negation before a word of the lexicon."""
    words = knowledge.words
    if token[0] in NEGATION_CHARACTERS and (rest := words.get(token[1:])):
        return [_Item("negation", "not", token[0]), _Item(rest.kind, rest.value, token[1:])]
    items: list[_Item] = []
    start = 0
    while start < len(token):
        # no lexicon word is longer than the longest one: longer slices cannot match
        for end in range(min(len(token), start + knowledge.longest_word), start + 1, -1):
            word = words.get(token[start:end])
            if word is not None and word.kind in ("symptom", "site"):
                items.append(_Item(word.kind, word.value, token[start:end]))
                start = end
                break
        else:
            start += 1
    return items or [_Item("other", "", token)]


def _items(clause: str, knowledge: Knowledge) -> list[_Item]:
    tokens = [token for token in knowledge.tokenizer.lcut(clause, HMM=False) if token.strip()]
    items: list[_Item] = []
    index = 0
    while index < len(tokens):
        for size in range(min(MAX_WORD_TOKENS, len(tokens) - index), 0, -1):
            text = _joined(tokens[index : index + size])
            word: Word | None = knowledge.words.get(normalised_word(text))
            if word is None and size == 1 and text.isascii() and text.endswith("s"):
                word = knowledge.words.get(text[:-1])
            if word is not None:
                items.append(_Item(word.kind, word.value, text))
                index += size
                break
        else:
            token = tokens[index]
            ascii_token = token.isascii()
            items.extend([_Item("other", "", token)] if ascii_token else _inside(token, knowledge))
            index += 1
    return items


class _ClauseReader:
    """One clause's items in order: negation, sites waiting for a feeling, findings."""

    def __init__(self, knowledge: Knowledge, reading: Reading) -> None:
        self.knowledge = knowledge
        self.reading = reading
        self.findings: list[Finding] = []
        self.negating = False
        self.waiting_sites: list[_Item] = []
        self.waiting_feelings: list[tuple[_Item, bool]] = []
        self.sites: list[_Item] = []

    def composite(self, site: _Item, feeling: _Item, negated: bool) -> None:
        symptom = self.knowledge.composites.get((site.value, feeling.value))
        if symptom:
            self.findings.append(Finding(symptom, site.text + feeling.text, negated))

    def read(self, item: _Item) -> None:
        if item.kind == "negation":
            self.negating = True
        elif item.kind == "contrast":
            self.negating = False
            self.waiting_sites = []
        elif item.kind == "symptom":
            self.findings.append(Finding(item.value, item.text, self.negating))
        elif item.kind == "site":
            self.sites.append(item)
            for feeling, negated in self.waiting_feelings:
                self.composite(item, feeling, negated)
            if not self.waiting_feelings:
                self.waiting_sites.append(item)
            self.waiting_feelings = []
        elif item.kind == "sensation":
            for site in self.waiting_sites:
                self.composite(site, item, self.negating)
            if not self.waiting_sites:
                self.waiting_feelings.append((item, self.negating))
            self.waiting_sites = []
        elif item.kind == "pregnancy":
            self.reading.pregnant = not self.negating
        elif item.kind == "person":
            if self.reading.person_months is None:
                self.reading.person_months = int(item.value)
        elif item.kind != "filler":
            self.negating = False

    def finish(self) -> list[Finding]:
        """The clause's findings, with those a site makes with a symptom of the same clause
        (左胳膊 with 胸痛 → 放射痛)."""
        described = [finding for finding in self.findings if not finding.negated]
        for site in self.sites:
            for finding in described:
                symptom = self.knowledge.composites.get((site.value, finding.symptom))
                if symptom:
                    self.findings.append(Finding(symptom, f"{finding.words}…{site.text}"))
        return self.findings


def read_text(text: str, knowledge: Knowledge) -> Reading:
    """Everything the triage needs from the patient's words."""
    reading = Reading()
    normalised = normalise_text(text)
    reading.age_months, without_age = _stated_age(normalised)
    previous: list[Finding] = []
    for clause in _CLAUSE_BREAK.split(without_age):
        if not clause.strip():
            continue
        reader = _ClauseReader(knowledge, reading)
        for item in _items(clause, knowledge):
            reader.read(item)
        findings = reader.finish()
        duration = _duration(clause)
        if duration:
            # 头疼，已经三天了: a clause with only a duration tells how long the one before lasted
            for finding in findings or [f for f in previous if f.duration_days is None]:
                finding.duration_days, finding.duration_words = duration
        reading.findings.extend(findings)
        previous = findings or previous
    temperature = _temperature(normalised)
    if temperature is not None and temperature[0] >= FEVER_CELSIUS:
        reading.findings.append(Finding("fever", temperature[1]))
        if temperature[0] >= HIGH_FEVER_CELSIUS:
            reading.findings.append(Finding("high_fever", temperature[1]))
    return reading
