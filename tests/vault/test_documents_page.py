"""``GET /api/v1/vault/documents`` in pages: ``?limit=`` (1 to 100, 50 by default) and
``?cursor=`` (the last document of the previous page), ``next`` in the answer; most recently
changed first; the same query count whatever the number of documents; a cursor that is not
one of this list's (another account's document, a privileged one the reader may not see) is
refused, not followed."""

from __future__ import annotations

import pytest

from tests.vault.helpers import grants_world, sealed_upload
from vault import services

API = "/api/v1/vault/documents"


def add(actor, account, title: str):
    return services.document_create(
        actor=actor, account=account, upload=sealed_upload(title.encode()), title=title
    ).document


def listed(client, account, **query) -> dict:
    answer = client.get(API, {"account": account.public_id, **query})
    assert answer.status_code == 200, answer.content
    return answer.json()


def test_pages_follow_each_other_newest_first_and_end(client, people, acme):
    staff = people["staff_on_team"]
    made = [add(staff, acme, f"Doc {n}") for n in range(7)]
    client.force_login(people["client_member"])

    whole = listed(client, acme)
    assert whole["next"] is None
    order = [row["id"] for row in whole["documents"]]
    assert order == [d.public_id for d in reversed(made)]  # the newest change first

    seen, cursor = [], None
    while True:
        page = listed(client, acme, limit="3", **({"cursor": cursor} if cursor else {}))
        assert len(page["documents"]) <= 3
        seen += [row["id"] for row in page["documents"]]
        cursor = page["next"]
        if cursor is None:
            break
        assert cursor == seen[-1]
    assert seen == order  # every document once, in the same order


def test_the_default_page_is_fifty(client, people, acme):
    staff = people["staff_on_team"]
    for n in range(52):
        add(staff, acme, f"Doc {n}")
    client.force_login(staff)
    first = listed(client, acme)
    assert len(first["documents"]) == 50
    rest = listed(client, acme, cursor=first["next"])
    assert len(rest["documents"]) == 2 and rest["next"] is None


@pytest.mark.parametrize(
    ("query", "code", "field"),
    [
        ({"limit": "0"}, "bad_limit", "limit"),
        ({"limit": "101"}, "bad_limit", "limit"),
        ({"limit": "ten"}, "bad_limit", "limit"),
        ({"cursor": "doc_nothere"}, "bad_cursor", "cursor"),
        ({"cursor": "not an id"}, "bad_cursor", "cursor"),
    ],
)
def test_a_bad_limit_or_cursor_is_refused(client, people, acme, query, code, field):
    add(people["staff_on_team"], acme, "Doc")
    client.force_login(people["staff_on_team"])
    answer = client.get(API, {"account": acme.public_id, **query})
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == code and field in error["fields"]


def test_a_cursor_from_elsewhere_is_not_followed(client, people, acme, globex):
    world = grants_world(acme, globex, people)
    theirs = add(people["firm_admin"], globex, "Globex only")
    client.force_login(world.newcomer)
    visible = listed(client, acme)
    assert [row["id"] for row in visible["documents"]] == [world.plain.public_id]
    # Another account's document, and a privileged one Nina holds no grant on: no page
    # starts there, and nothing about them is told.
    for cursor in (theirs.public_id, world.document.public_id):
        answer = client.get(API, {"account": acme.public_id, "cursor": cursor})
        assert answer.status_code == 400
        assert answer.json()["error"]["code"] == "bad_cursor"
    # The grantee pages through both.
    client.force_login(world.reader)
    page = listed(client, acme, limit="1")
    second = listed(client, acme, limit="1", cursor=page["next"])
    assert {page["documents"][0]["id"], second["documents"][0]["id"]} == {
        world.plain.public_id,
        world.document.public_id,
    }


def test_the_query_count_does_not_grow_with_the_documents(
    client, people, acme, django_assert_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    staff = people["staff_on_team"]
    for n in range(3):
        add(staff, acme, f"Doc {n}")
    client.force_login(staff)
    with CaptureQueriesContext(connection) as few:
        first = listed(client, acme, limit="2")
    for n in range(20):
        add(staff, acme, f"More {n}")
    with django_assert_num_queries(len(few.captured_queries)):
        listed(client, acme, limit="2")
    with CaptureQueriesContext(connection) as paged:
        listed(client, acme, limit="2", cursor=first["next"])
    # A cursor costs one look-up of where it points.
    assert len(paged.captured_queries) == len(few.captured_queries) + 1
