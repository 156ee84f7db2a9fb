"""``AnyOf``: a column among many ids, as one parameter.

``matter_id__in=ids`` with 200 ids is 200 placeholders: Django prepares each, the database
driver parses the long statement anew every time (it keeps parsed statements of at most 50
parameters), and PostgreSQL reads a long text. The status page and the board filter by the
ids of every visible matter (200 in the benchmark's firm) several times a request. On
PostgreSQL ``AnyOf(F("matter_id"), ids)`` is ``matter_id = ANY(%s)`` with the ids as one
array parameter, which the planner treats as it treats the ``IN`` list; elsewhere it is the
``IN`` list. Use it where a lookup goes: ``Task.objects.filter(AnyOf(F("matter_id"), ids))``.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import BooleanField, Expression, Lookup
from django.db.models.lookups import In


class AnyOf(Lookup):
    lookup_name = "any_of"
    prepare_rhs = False
    output_field = BooleanField()

    def __init__(self, lhs: Expression, ids: Iterable[int]) -> None:
        # None matches nothing, as ``__in`` drops it (an id of a row deleted in between).
        super().__init__(lhs, [int(pk) for pk in ids if pk is not None])

    def as_sql(self, compiler, connection):
        if not self.rhs:
            # Matches nothing, as ``__in=[]`` does (Django skips such a query altogether).
            return "1 = 0", []
        lhs, params = self.process_lhs(compiler, connection)
        array = f"{self.lhs.output_field.db_type(connection)}[]"
        return f"{lhs} = ANY(%s::{array})", [*params, self.rhs]

    def as_sqlite(self, compiler, connection):
        return In(self.lhs, self.rhs).as_sql(compiler, connection)
