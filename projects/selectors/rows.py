"""Reading many matters for a page that shows a few of them: the status page and the board
read every visible matter to choose and order what they show.

With ``select_related`` the ORM makes one related object per row: 200 matters of one owner
are 200 owner objects. ``read_matters`` reads the same columns as plain rows and makes each
related row (an owner, an account) once, shared by every matter that names it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.db import models
from django.db.models import QuerySet

from accounts.models import Matter


def _in_field_order(model: type[models.Model], names: Sequence[str]) -> list[models.Field]:
    """The concrete fields of ``model`` named (by name or attname) in ``names``, and its
    primary key, in the model's own field order (the order ``Model.from_db`` reads)."""
    wanted = set(names) | {model._meta.pk.name}
    return [f for f in model._meta.concrete_fields if f.name in wanted or f.attname in wanted]


def read_matters(
    queryset: QuerySet[Matter],
    *,
    fields: Sequence[str],
    related: Mapping[str, Sequence[str] | None],
    annotations: Sequence[str] = (),
) -> list[Matter]:
    """The matters of ``queryset``, in its order, with ``fields`` loaded (and the primary
    key; any other field is loaded on first use, as with ``only()``), each foreign key of
    ``related`` set to its object with the fields named (None: all of them), made once per
    distinct object, and the queryset's ``annotations`` set as attributes."""
    own = _in_field_order(Matter, [*fields, *related])
    joined = []
    for name, names in related.items():
        key = Matter._meta.get_field(name)
        target = key.related_model
        chosen = (
            list(target._meta.concrete_fields) if names is None else _in_field_order(target, names)
        )
        joined.append((name, key.attname, target, chosen))
    columns = [
        *(f.attname for f in own),
        *(f"{name}__{f.name}" for name, _, _, chosen in joined for f in chosen),
        *annotations,
    ]
    own_names = [f.attname for f in own]
    db = queryset.db
    made: dict[tuple[str, object], models.Model] = {}
    matters: list[Matter] = []
    for row in queryset.values_list(*columns):
        matter = Matter.from_db(db, own_names, row[: len(own)])
        at = len(own)
        for name, attname, target, chosen in joined:
            values = row[at : at + len(chosen)]
            at += len(chosen)
            pk = getattr(matter, attname)
            if pk is None:
                setattr(matter, name, None)
                continue
            instance = made.get((name, pk))
            if instance is None:
                instance = made[name, pk] = target.from_db(db, [f.attname for f in chosen], values)
            setattr(matter, name, instance)
        for name, value in zip(annotations, row[at:], strict=True):
            setattr(matter, name, value)
        matters.append(matter)
    return matters
