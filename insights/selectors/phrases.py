"""The status phrases and the one pattern that finds them in a message, the same on SQLite
and PostgreSQL."""

from __future__ import annotations

import re

from django.db import connection
from django.db.models import Q
from django.db.models.functions import Lower
from django.db.models.lookups import Regex

from insights.models import StatusPhrase


def phrase_normalise(phrase: str) -> str:
    return " ".join(phrase.split()).lower()


def status_phrases() -> list[str]:
    return list(StatusPhrase.objects.values_list("phrase", flat=True))


def phrase_pattern(phrases: list[str]) -> str | None:
    """A pattern matching any of ``phrases`` (lower-case) as whole words: not preceded or
    followed by a word character (a letter, a digit, ``_``); white space in a phrase matches
    any run of white space. The same text is a valid expression for Python's ``re`` (SQLite's
    REGEXP) and PostgreSQL's. None for no phrases."""
    words = [phrase_normalise(p).split(" ") for p in phrases if phrase_normalise(p)]
    if not words:
        return None
    # re.escape escapes only punctuation, each as backslash + the character, which
    # PostgreSQL's expressions read the same way.
    alternatives = sorted({r"\s+".join(re.escape(w) for w in each) for each in words})
    return rf"(?<!\w)({'|'.join(alternatives)})(?!\w)"


def phrase_match(field: str, pattern: str) -> Q:
    """``field`` holds one of the phrases, in any case. On PostgreSQL the text is lowered
    and matched case-sensitively (its case-insensitive matching of an alternation is several
    times slower); on SQLite, Python's ``re`` ignores case itself."""
    if connection.vendor == "postgresql":
        return Q(Regex(Lower(field), pattern))
    return Q(**{f"{field}__iregex": pattern})
