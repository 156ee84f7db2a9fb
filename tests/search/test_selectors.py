"""Search finds only what the searcher may see, ranks the most telling matches first, marks
matches safely, and costs the same queries whatever it finds."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.errors import Invalid, NotFound
from accounts.services import client_accounts, matters
from search import selectors
from tests import factories
from tests.search.helpers import GRANTED, SEES_ACME, add_document, send


def found(user, q, **kwargs) -> set[tuple[str, str]]:
    return {(r.kind, r.id) for r in selectors.search(user, q=q, **kwargs).results}


@pytest.mark.parametrize(
    "role",
    [
        "firm_admin",
        "staff_on_team",
        "staff_off_team",
        "client_admin",
        "client_member",
        "other_client",
    ],
)
def test_each_role_finds_exactly_what_it_may_see(world, role):
    user = world.people[role]
    expected = set()
    if role in SEES_ACME:
        expected |= {
            ("message", world.message),
            ("matter", world.matter.public_id),
            ("document", world.brief.public_id),
        }
    if role in GRANTED:
        expected |= {
            ("message", world.secret_message),
            ("document", world.memo.public_id),
        }
    if role in {"firm_admin", "staff_off_team", "other_client"}:
        expected.add(("message", world.globex_message))
    assert found(user, "zebra") == expected


def test_a_privileged_documents_text_is_found_by_nobody_not_even_its_grantees(world):
    for role, user in world.people.items():
        assert found(user, "quagga") == set(), role
        assert found(user, "okapi") == set(), role
        # Its file name is found, by its grantees only.
        expected = {("document", world.memo.public_id)} if role in GRANTED else set()
        assert found(user, "terms") == expected, role


def test_an_ordinary_documents_text_is_found_by_the_account(world):
    assert found(world.people["client_admin"], "stripes") == {("document", world.brief.public_id)}
    assert found(world.people["other_client"], "stripes") == set()


def test_a_revoked_grantee_no_longer_finds_the_privileged_items(world, committed):
    with committed():
        matters.matter_revoke(actor=None, matter=world.deal, user=world.people["client_admin"])
    # The matter's thread and document follow the matter's grants.
    assert found(world.people["client_admin"], "price") == set()
    assert found(world.people["client_admin"], "term sheet") == set()
    assert found(world.people["staff_on_team"], "price") == {("message", world.secret_message)}


def test_a_suspended_accounts_own_people_find_nothing_there_and_the_team_still_does(
    world, committed
):
    with committed():
        client_accounts.client_account_set_status(
            actor=None, account=world.acme, status="suspended"
        )
    for role, other in (("client_admin", "Morgan"), ("client_member", "Alex")):
        assert found(world.people[role], "zebra") == set(), role
        # Not even the people of the account: only themselves.
        assert found(world.people[role], other) == set(), role
    assert ("message", world.message) in found(world.people["staff_on_team"], "zebra")


def test_someone_removed_from_the_account_finds_nothing_of_it(world, committed):
    with committed():
        client_accounts.membership_remove(
            actor=None, account=world.acme, user=world.people["client_member"]
        )
    assert found(world.people["client_member"], "zebra") == set()


def test_anonymous_and_deactivated_people_find_nothing(world):
    from django.contrib.auth.models import AnonymousUser

    assert selectors.entries_visible_to(AnonymousUser()).count() == 0
    user = world.people["client_admin"]
    user.is_active = False
    assert found(user, "zebra") == set()


def test_people_are_found_by_those_who_share_an_account_with_them(world):
    member = world.people["client_member"]
    assert ("person", member.public_id) in found(world.people["client_admin"], "Morgan")
    assert ("person", member.public_id) in found(world.people["staff_on_team"], "Morgan")
    assert found(world.people["other_client"], "Morgan") == set()
    assert found(world.people["staff_off_team"], "Morgan") == set()
    [result] = selectors.search(world.people["client_admin"], q="Morgan").results
    assert result.account == world.acme.public_id
    assert result.url == f"/clients/{world.acme.public_id}/#people-h"


def test_type_and_account_narrow_the_search(world):
    admin = world.people["firm_admin"]
    assert found(admin, "zebra", kind="matter") == {("matter", world.matter.public_id)}
    assert found(admin, "zebra", account_id=world.globex.public_id) == {
        ("message", world.globex_message)
    }
    with pytest.raises(NotFound):
        selectors.search(world.people["other_client"], q="zebra", account_id=world.acme.public_id)
    with pytest.raises(Invalid) as bad:
        selectors.search(admin, q="zebra", kind="invoice")
    assert bad.value.code == "bad_type"


@pytest.mark.parametrize(
    ("q", "code"),
    [
        ("", "query_required"),
        ("   ", "query_required"),
        (None, "query_required"),
        ("z" * 201, "query_too_long"),
    ],
)
def test_a_blank_or_over_long_query_is_refused(world, q, code):
    with pytest.raises(Invalid) as refused:
        selectors.search(world.people["firm_admin"], q=q)
    assert refused.value.code == code


def test_links_lead_to_the_exact_message_document_and_matter(world):
    results = {r.id: r for r in selectors.search(world.people["client_admin"], q="zebra").results}
    message = results[world.message]
    seq = world.general.messages.get(public_id=world.message).seq
    assert message.url == f"/threads/{world.general.public_id}/#seq-{seq}"
    assert message.title == "General"
    assert results[world.brief.public_id].url == f"/vault/documents/{world.brief.public_id}/"
    assert results[world.matter.public_id].url == f"/matters/{world.matter.public_id}/"
    assert message.account == world.acme.public_id


def test_a_title_match_ranks_above_a_body_match(acme, people, committed):
    author = people["client_admin"]
    with committed():
        general = acme.threads.get(is_general=True)
        send(author, general, "We should discuss the giraffe budget soon")
        matter = factories.matter(acme, title="Giraffe")
    results = selectors.search(people["firm_admin"], q="giraffe").results
    assert [r.kind for r in results] == ["matter", "message"]
    assert results[0].id == matter.public_id


def test_more_relevant_messages_rank_first(acme, people, committed):
    author = people["client_admin"]
    with committed():
        general = acme.threads.get(is_general=True)
        once = send(
            author, general, "An antelope passed by the office, then nothing happened all day long"
        )
        twice = send(author, general, "Antelope antelope antelope herd")
    results = selectors.search(people["firm_admin"], q="antelope").results
    assert [r.id for r in results] == [twice, once]


def test_snippets_escape_the_text_and_mark_only_the_matches(acme, people, committed):
    with committed():
        general = acme.threads.get(is_general=True)
        send(
            people["client_admin"],
            general,
            'Hello <script>alert("x")</script> <b>lemur</b> & '
            "<img src=x onerror=alert(1)> lemur\x02",
        )
    [result] = selectors.search(people["firm_admin"], q="lemur").results
    html = result.snippet_html
    assert "<mark>lemur</mark>" in html
    stripped = html.replace("<mark>", "").replace("</mark>", "")
    assert "<" not in stripped and ">" not in stripped.replace("&gt;", "")
    assert "\x02" not in html and "\x03" not in html
    assert "<script" not in html and "<img" not in html and "<b>" not in html


def test_pages_follow_the_cursor(acme, people, committed):
    with committed():
        general = acme.threads.get(is_general=True)
        sent = {send(people["client_admin"], general, f"wombat number {n}") for n in range(7)}
    admin = people["firm_admin"]
    first = selectors.search(admin, q="wombat", limit=3)
    second = selectors.search(admin, q="wombat", limit=3, cursor=first.next_cursor)
    third = selectors.search(admin, q="wombat", limit=3, cursor=second.next_cursor)
    assert third.next_cursor is None
    ids = [r.id for page in (first, second, third) for r in page.results]
    assert len(ids) == 7 and set(ids) == sent
    with pytest.raises(Invalid) as bad:
        selectors.search(admin, q="wombat", cursor="nonsense!")
    assert bad.value.code == "bad_cursor"
    for limit in ("0", "51", "many"):
        with pytest.raises(Invalid):
            selectors.search(admin, q="wombat", limit=limit)


def test_query_syntax_phrases_or_and_exclusions(acme, people, committed):
    with committed():
        general = acme.threads.get(is_general=True)
        red = send(people["client_admin"], general, "the red panda sleeps")
        panda_red = send(people["client_admin"], general, "a panda that is red")
        koala = send(people["client_admin"], general, "the koala sleeps")
    admin = people["firm_admin"]
    assert {r.id for r in selectors.search(admin, q='"red panda"').results} == {red}
    assert {r.id for r in selectors.search(admin, q="panda -sleeps").results} == {panda_red}
    assert {r.id for r in selectors.search(admin, q="koala or panda").results} == {
        red,
        panda_red,
        koala,
    }
    assert selectors.search(admin, q="-panda").results == []
    assert selectors.search(admin, q='"" ( ) * :').results == []
    # FTS5 and tsquery syntax is only ever text to find.
    assert selectors.search(admin, q='NEAR( AND "koala').results == []
    assert {r.id for r in selectors.search(admin, q='"koala').results} == {koala}
    assert {r.id for r in selectors.search(admin, q="koala* :sleeps").results} == {koala}


@pytest.mark.parametrize("role", ["firm_admin", "staff_on_team", "client_member"])
def test_a_search_costs_the_same_queries_however_much_it_finds(acme, people, committed, role):
    user = people[role]

    def grow(n: int) -> None:
        with committed():
            general = acme.threads.get(is_general=True)
            for i in range(n):
                send(people["client_admin"], general, f"capybara message {i}")
                factories.matter(acme, title=f"Capybara matter {i}")
                factories.client(acme, name=f"Capybara Person {i}")
                add_document(people["client_admin"], acme, b"capybara text", f"capybara-{i}.txt")

    def cost() -> int:
        with CaptureQueriesContext(connection) as queries:
            page = selectors.search(user, q="capybara", limit=50)
        assert page.results
        return len(queries)

    grow(1)
    small = cost()
    grow(8)
    assert cost() == small
