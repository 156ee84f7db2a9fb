"""The status phrases and the one pattern that finds them in a message, the same on SQLite
and PostgreSQL."""

from __future__ import annotations

import re

from django.db import connection
from django.db.models import BooleanField, Case, Q, Value, When
from django.db.models.functions import Lower
from django.db.models.lookups import Contains, Regex

from insights.models import StatusPhrase


def phrase_normalise(phrase: str) -> str:
    return " ".join(phrase.split()).lower()


def status_phrases() -> list[str]:
    return list(StatusPhrase.objects.values_list("phrase", flat=True))


def _is_word_character(character: str) -> bool:
    return character.isalnum() or character == "_"


def phrase_pattern(phrases: list[str], *, vendor: str = "sqlite") -> str | None:
    """A pattern matching any of ``phrases`` (lower-case) as whole words: where a phrase
    begins (ends) with a word character (a letter, a digit, ``_``), the character before
    (after) it is not one; white space in a phrase matches any run of white space. Word
    edges are written ``\\b`` for Python's ``re`` (SQLite's REGEXP) and ``\\m``/``\\M``
    for PostgreSQL's (which reads ``\\b`` as a backspace). None for no phrases."""
    start, end = (r"\m", r"\M") if vendor == "postgresql" else (r"\b", r"\b")
    alternatives = set()
    for phrase in phrases:
        words = phrase_normalise(phrase).split(" ")
        if not words[0]:
            continue
        # re.escape escapes only punctuation, each as backslash + the character, which
        # PostgreSQL's expressions read the same way.
        body = r"\s+".join(re.escape(word) for word in words)
        text = " ".join(words)
        alternatives.add(
            (start if _is_word_character(text[0]) else "")
            + body
            + (end if _is_word_character(text[-1]) else "")
        )
    return "|".join(sorted(alternatives)) or None


def phrase_match(field: str, phrases: list[str]) -> Q | None:
    """``field`` holds one of ``phrases`` (``phrase_pattern``), in any case; None for no
    phrases. On PostgreSQL the text is lowered and matched case-sensitively, and only where
    it contains the longest word of some phrase (a plain substring test): its regular
    expressions cost a hundred times a substring test, and most messages hold no such word.
    SQLite's REGEXP (Python's ``re``) ignores case itself and is fast enough alone."""
    pattern = phrase_pattern(phrases, vendor=connection.vendor)
    if pattern is None:
        return None
    if connection.vendor != "postgresql":
        return Q(**{f"{field}__iregex": pattern})
    lowered = Lower(field)
    words = sorted({max(phrase_normalise(p).split(" "), key=len) for p in phrases if p.strip()})
    holds_a_word = Q()
    for word in words:
        holds_a_word |= Q(Contains(lowered, word))
    # CASE, so that the expression is tried only where the substring test passed (in a plain
    # AND the planner may try either first).
    return Q(
        Case(
            When(holds_a_word, then=Regex(lowered, pattern)),
            default=Value(False),
            output_field=BooleanField(),
        )
    )
