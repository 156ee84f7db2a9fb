"""The words a page prints for each of many rows (a date, a count of things), made in Python
once per distinct value rather than by template filters for every row: a board of 50 rows
printed ~200 dates through ``|date`` and every count through number localisation.

Each gives exactly what the template filters gave (``|date:"j M Y"``, ``|date:"Y-m-d"``,
``{{ n }} thing{{ n|pluralize }}``), in the language active when it is called."""

from __future__ import annotations

from datetime import date
from functools import lru_cache

from django.utils import dateformat, translation


@lru_cache(maxsize=2048)
def _day(day: date, language: str | None) -> str:
    return dateformat.format(day, "j M Y")


def day_words(day: date) -> str:
    """``day`` as ``|date:"j M Y"`` prints it ("7 Dec 2026")."""
    return _day(day, translation.get_language())


def iso_day(day: date) -> str:
    """``day`` as ``|date:"Y-m-d"`` prints it, for a ``<time datetime>``."""
    return day.isoformat()


def count_words(n: int, thing: str) -> str:
    """``n`` and ``thing``, plural unless n is 1: "1 task", "3 tasks"."""
    return f"{n} {thing}{'' if n == 1 else 's'}"
