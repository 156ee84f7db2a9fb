"""The status phrases and the one pattern that finds them in a message, the same on SQLite
and PostgreSQL."""

from __future__ import annotations

import re

from insights.models import StatusPhrase

# Letters, digits and the underscore are "word" characters; anything else (or the start or end
# of the text) is a word boundary. Written as a bracket of ASCII ranges because the two
# databases' regular expressions share no word-boundary escape (\b, \y, \m).
_EDGE_BEFORE = "(^|[^a-z0-9_])"
_EDGE_AFTER = "([^a-z0-9_]|$)"


def phrase_normalise(phrase: str) -> str:
    return " ".join(phrase.split()).lower()


def status_phrases() -> list[str]:
    return list(StatusPhrase.objects.values_list("phrase", flat=True))


def phrase_pattern(phrases: list[str]) -> str | None:
    """A case-insensitive pattern (for ``__iregex``) matching any of ``phrases`` as whole
    words; white space in a phrase matches any run of white space. None for no phrases."""
    words = [phrase_normalise(p).split(" ") for p in phrases if phrase_normalise(p)]
    if not words:
        return None
    # re.escape escapes only punctuation, each as backslash + the character, which
    # PostgreSQL's expressions read the same way.
    alternatives = sorted({r"\s+".join(re.escape(w) for w in each) for each in words})
    return f"{_EDGE_BEFORE}({'|'.join(alternatives)}){_EDGE_AFTER}"
