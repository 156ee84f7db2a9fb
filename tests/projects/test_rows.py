"""``projects.selectors.rows.read_matters``: matters read as plain rows hold the same values
as the ORM's, each related object made once, in one query."""

from __future__ import annotations

import datetime as dt

from django.db.models import Exists, OuterRef

from accounts.models import Matter
from projects.models import Task
from projects.selectors.rows import read_matters
from tests import factories


def test_rows_hold_what_the_orm_reads_each_related_object_once(
    acme, globex, django_assert_num_queries
):
    # Name and e-mail in the order the page asks for them, not the model's: values must
    # land in the right fields whatever order they are named in.
    lead = factories.staff(accounts=(acme, globex), name="Lee Lead")
    other = factories.staff(accounts=(acme,), name="Olga Other")
    made = [
        factories.matter(acme, title="Alpha"),
        factories.matter(acme, title="Beta"),
        factories.matter(globex, title="Gamma"),
        factories.matter(acme, title="Delta"),
    ]
    owners = [lead, lead, lead, other]
    for matter, owner in zip(made, owners, strict=True):
        matter.owner = owner
        matter.target_date = dt.date(2027, 1, 31)
        matter.save(update_fields=["owner", "target_date"])
    orphan = factories.matter(globex, title="Epsilon")  # no owner
    Task.objects.create(matter=made[0], title="Open one", position=0)
    queryset = Matter.objects.annotate(
        has_task=Exists(Task.objects.filter(matter_id=OuterRef("pk")))
    ).order_by("title")

    expected = {
        m.title: (m, m.account.name, m.account.slug, m.owner and m.owner.name, m.owner)
        for m in (*made, orphan)
    }
    with django_assert_num_queries(1):
        rows = read_matters(
            queryset,
            fields=("title", "target_date", "account"),
            related={"owner": ("name", "email", "public_id"), "account": None},
            annotations=("has_task",),
        )
    assert [m.title for m in rows] == ["Alpha", "Beta", "Delta", "Epsilon", "Gamma"]
    by_title = {m.title: m for m in rows}
    with django_assert_num_queries(0):
        for title, (matter, account_name, slug, _, owner) in expected.items():
            read = by_title[title]
            assert read == matter and read.account_id == matter.account_id
            assert read.target_date == matter.target_date
            assert (read.account.name, read.account.slug) == (account_name, slug)  # whole
            assert read.has_task is (matter == made[0])
            if owner is None:
                assert read.owner is None
            else:
                assert (read.owner.name, read.owner.email, read.owner.public_id) == (
                    owner.name,
                    owner.email,
                    owner.public_id,
                )
        # One owner object for Lee's three matters, one account object per client.
        assert by_title["Alpha"].owner is by_title["Beta"].owner is by_title["Gamma"].owner
        assert by_title["Alpha"].account is by_title["Beta"].account
    # A field not read is loaded when first used, as with only().
    with django_assert_num_queries(1):
        assert by_title["Alpha"].status == made[0].status
