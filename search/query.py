"""What a person typed into the search box, checked and read the same way for both backends.

The syntax is the web's: words are all required, ``"a phrase"`` matches in that order, ``or``
between words offers alternatives, ``-word`` excludes. PostgreSQL reads it itself
(``websearch_to_tsquery``); for SQLite's FTS5 it is rewritten here into an expression in
which every word is a quoted string, so nothing typed is ever taken for FTS5 syntax.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from accounts.errors import Invalid

MAX_QUERY_CHARS = 200

_TOKEN = re.compile(r'(-?)"([^"]*)"?|(\S+)')
_WORD = re.compile(r"\w", re.UNICODE)


@dataclass(frozen=True)
class Term:
    text: str
    excluded: bool = False


@dataclass(frozen=True)
class Query:
    """``text`` as typed (trimmed), and its groups of terms: a group matches when all its
    included terms do and none of its excluded ones; the query matches when any group does."""

    text: str
    groups: tuple[tuple[Term, ...], ...]

    @property
    def searchable(self) -> bool:
        """Whether some group asks for a word (a query of only exclusions or punctuation
        finds nothing, on both backends alike)."""
        return any(any(not t.excluded for t in group) for group in self.groups)


def checked_query(text: object) -> Query:
    """Parse ``text``; Invalid ``query_required`` if it is missing or blank, ``query_too_long``
    past MAX_QUERY_CHARS."""
    if not isinstance(text, str) or not text.strip():
        raise Invalid(
            "Type something to search for.", code="query_required", fields={"q": "required"}
        )
    text = " ".join(text.split())
    if len(text) > MAX_QUERY_CHARS:
        raise Invalid(
            f"Searches are limited to {MAX_QUERY_CHARS} characters.",
            code="query_too_long",
            fields={"q": "too_long"},
        )
    groups: list[tuple[Term, ...]] = []
    current: list[Term] = []
    for match in _TOKEN.finditer(text):
        negated, phrase, word = match.group(1), match.group(2), match.group(3)
        if word is not None and word.lower() == "or":
            groups.append(tuple(current))
            current = []
            continue
        if word is not None:
            excluded = word.startswith("-") and len(word) > 1
            word = word[1:] if excluded else word
            term = Term(word, excluded)
        else:
            term = Term(phrase, bool(negated))
        if _WORD.search(term.text):
            current.append(term)
    groups.append(tuple(current))
    return Query(text, tuple(g for g in groups if any(not t.excluded for t in g)))


def _fts5_string(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def fts5_expression(query: Query) -> str:
    """The query as an FTS5 expression: quoted strings joined by AND, NOT and OR."""
    parts = []
    for group in query.groups:
        included = [_fts5_string(t.text) for t in group if not t.excluded]
        excluded = [_fts5_string(t.text) for t in group if t.excluded]
        expression = " AND ".join(included)
        if excluded:
            expression = f"({expression}) NOT ({' OR '.join(excluded)})"
        parts.append(f"({expression})")
    return " OR ".join(parts)


def websearch_text(query: Query) -> str:
    """The query again in ``websearch_to_tsquery``'s syntax, as parsed here: PostgreSQL then
    reads exactly the groups SQLite gets (a group of only exclusions is gone from both)."""
    groups = []
    for group in query.groups:
        terms = []
        for term in group:
            text = term.text.replace('"', " ")
            if " " in text.strip() or term.text != text:
                text = f'"{text.strip()}"'
            terms.append(("-" if term.excluded else "") + text)
        groups.append(" ".join(terms))
    return " or ".join(groups)
