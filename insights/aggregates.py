"""The database functions the metrics need on both backends: hours between two times and a
percentile with linear interpolation between the two nearest values (PostgreSQL's
``percentile_cont``; SQLite gets the same definition as a registered aggregate)."""

from __future__ import annotations

import math

from django.db import NotSupportedError
from django.db.models import Aggregate, F, FloatField, Func


class HoursBetween(Func):
    """``end - start`` in hours (a float); NULL if either is NULL."""

    output_field = FloatField()
    arity = 2

    def __init__(self, end: str, start: str, **extra):
        super().__init__(F(end), F(start), **extra)

    def as_sql(self, compiler, connection, **extra_context):
        # Only the two databases Atrium runs on (PostgreSQL, SQLite) have a form of it.
        raise NotSupportedError(
            f"HoursBetween is written for PostgreSQL and SQLite, not {connection.vendor}"
        )

    def as_postgresql(self, compiler, connection, **extra_context):
        return super().as_sql(
            compiler,
            connection,
            template="(EXTRACT(EPOCH FROM (%(expressions)s)) / 3600.0)",
            arg_joiner=" - ",
            **extra_context,
        )

    def as_sqlite(self, compiler, connection, **extra_context):
        return super().as_sql(
            compiler,
            connection,
            template="((julianday(%(expressions)s)) * 24.0)",
            arg_joiner=") - julianday(",
            **extra_context,
        )


class Percentile(Aggregate):
    """The ``fraction`` percentile (0 to 1) of the values, interpolated linearly: for n sorted
    values v0 … v(n-1), position p = fraction * (n - 1) gives v[floor p] + (p - floor p) *
    (v[ceil p] - v[floor p]). NULLs are left out; no values gives NULL."""

    name = "Percentile"
    output_field = FloatField()
    allow_distinct = False

    def __init__(self, expression, fraction: float, **extra):
        if not 0 <= fraction <= 1:
            raise ValueError("fraction is from 0 to 1")
        self.fraction = float(fraction)
        super().__init__(expression, **extra)

    def as_sql(self, compiler, connection, **extra_context):
        # Only the two databases Atrium runs on (PostgreSQL, SQLite) have a form of it.
        raise NotSupportedError(
            f"Percentile is written for PostgreSQL and SQLite, not {connection.vendor}"
        )

    def _with_template(self, template: str, compiler, connection, **extra_context):
        # Aggregate.as_sql reads the template from the expression (with a FILTER clause
        # wrapped around it), so a copy carries this backend's.
        clone = self.copy()
        clone.template = template
        return super(Percentile, clone).as_sql(compiler, connection, **extra_context)

    def as_postgresql(self, compiler, connection, **extra_context):
        return self._with_template(
            f"percentile_cont({self.fraction!r}) WITHIN GROUP (ORDER BY %(expressions)s)",
            compiler,
            connection,
            **extra_context,
        )

    def as_sqlite(self, compiler, connection, **extra_context):
        return self._with_template(
            f"percentile_cont({self.fraction!r}, %(expressions)s)",
            compiler,
            connection,
            **extra_context,
        )


def interpolated(ordered: list[float], fraction: float) -> float | None:
    """The percentile of already sorted values, as ``Percentile`` defines it."""
    if not ordered:
        return None
    position = fraction * (len(ordered) - 1)
    low = math.floor(position)
    high = math.ceil(position)
    return ordered[low] + (position - low) * (ordered[high] - ordered[low])


class _SqlitePercentile:
    """``percentile_cont(fraction, value)`` for SQLite: an aggregate of the database, fed row
    by row by SQLite itself."""

    def __init__(self) -> None:
        self.values: list[float] = []
        self.fraction = 0.5

    def step(self, fraction, value) -> None:
        if value is not None:
            self.fraction = float(fraction)
            self.values.append(float(value))

    def finalize(self) -> float | None:
        self.values.sort()
        return interpolated(self.values, self.fraction)


def sqlite_functions_register(sender, connection, **kwargs) -> None:
    if connection.vendor == "sqlite":
        connection.connection.create_aggregate("percentile_cont", 2, _SqlitePercentile)
