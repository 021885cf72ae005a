"""Words to offer while a patient types: the lexicon's symptom words that begin with (then
contain) what was typed, in the script typed (Chinese or English), each with its standard term."""

from __future__ import annotations

from dataclasses import dataclass

from ihospital.triage.knowledge import Knowledge, normalised_word

MAX_SUGGESTIONS = 8


@dataclass(frozen=True)
class Suggestion:
    text: str
    term: str
    symptom: str


def suggest(knowledge: Knowledge, typed: str, language: str) -> list[Suggestion]:
    """At most :data:`MAX_SUGGESTIONS` symptom words for ``typed``: those that begin with it
    first, shorter first; nothing for blank input."""
    query = normalised_word(typed)
    if not query:
        return []
    english = query.isascii()
    ranked: list[tuple[int, int, str, str]] = []
    for text, word in knowledge.words.items():
        if word.kind != "symptom" or text.isascii() != english or query not in text:
            continue
        ranked.append((0 if text.startswith(query) else 1, len(text), text, word.value))
    ranked.sort()
    found: list[Suggestion] = []
    for _, _, text, symptom in ranked[:MAX_SUGGESTIONS]:
        found.append(Suggestion(text, knowledge.term(symptom, language), symptom))
    return found
