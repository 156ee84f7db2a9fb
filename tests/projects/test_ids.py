"""``AnyOf``, a column among many ids as one parameter, answers what ``__in`` answers, on
every database, and its statement does not grow with the ids."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from projects.models import Task
from projects.selectors.ids import AnyOf
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def tasks(acme, globex):
    made = []
    for account in (acme, globex):
        for m in range(3):
            matter = factories.matter(account, title=f"{account.name} {m}")
            made += [
                Task.objects.create(matter=matter, title=f"T{t}", position=t) for t in range(2)
            ]
    return made


@pytest.mark.parametrize("take", [0, 1, 3, 6])
def test_it_answers_what_in_answers(tasks, take):
    ids = sorted({t.matter_id for t in tasks})[:take]
    expected = set(Task.objects.filter(matter_id__in=ids).values_list("pk", flat=True))
    found = set(Task.objects.filter(AnyOf(F("matter_id"), ids)).values_list("pk", flat=True))
    assert found == expected
    assert len(found) == 2 * take
    excluded = set(Task.objects.exclude(AnyOf(F("matter_id"), ids)).values_list("pk", flat=True))
    assert excluded == {t.pk for t in tasks} - expected
    # An id of None matches nothing, as with __in.
    with_none = Task.objects.filter(AnyOf(F("matter_id"), [*ids, None]))
    assert set(with_none.values_list("pk", flat=True)) == expected


@pytest.mark.skipif(connection.vendor != "postgresql", reason="one array parameter on PostgreSQL")
def test_the_statement_is_the_same_for_few_and_many_ids(tasks):
    def statement(ids) -> str:
        with CaptureQueriesContext(connection) as captured:
            list(Task.objects.filter(AnyOf(F("matter_id"), ids)))
        return captured[0]["sql"].split(" = ANY(")[0]

    assert statement([1]) == statement(list(range(1, 500)))
