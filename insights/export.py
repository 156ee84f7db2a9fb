"""The adoption figures as CSV, safe to open in a spreadsheet: a text cell that a
spreadsheet would read as a formula (starting with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return) is written with a single quote in front, so it stays text."""

from __future__ import annotations

import csv
import io

from insights.selectors.adoption import FIGURES, Adoption

COLUMNS = ("account", "name", *FIGURES)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> object:
    """A value as a CSV cell: text that could start a formula neutralised; None empty;
    booleans as ``yes``/``no``; numbers as they are."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def adoption_csv(result: Adoption) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in result.accounts:
        writer.writerow([cell(row[name]) for name in COLUMNS])
    firm = {"account": "", "name": "All accounts", **result.firm}
    writer.writerow([cell(firm[name]) for name in COLUMNS])
    return out.getvalue()


def csv_filename(result: Adoption) -> str:
    period = result.period
    return f"adoption-{period.first.isoformat()}-to-{period.end.isoformat()}.csv"
