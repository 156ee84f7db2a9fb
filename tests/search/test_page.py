"""The search page (``frontend.views.search``) and the header's search box, in the world of
this directory's conftest.py."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.search.helpers import GRANTED, SEES_ACME, send

URL = "/search/"


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get(URL, {"q": "zebra"})
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


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
def test_each_role_sees_only_what_it_may(client, world, role):
    w = world
    client.force_login(w.people[role])
    html = client.get(URL, {"q": "zebra"}).content.decode()
    assert (w.brief.public_id in html) == (role in SEES_ACME)
    assert (w.memo.public_id in html) == (role in GRANTED)
    assert ("The zebra price" in html or "<mark>zebra</mark> price" in html) == (role in GRANTED)


def test_results_are_labelled_by_type_marked_and_linked(client, world):
    w = world
    client.force_login(w.people["client_admin"])
    html = client.get(URL, {"q": "zebra"}).content.decode()
    assert "<mark>zebra</mark>" in html or "<mark>Zebra</mark>" in html
    for label in ("Message", "Document", "Matter"):
        assert f"<span>{label}</span>" in html
    assert f'href="/vault/documents/{w.brief.public_id}/"' in html
    assert f'href="/threads/{w.general.public_id}/#seq-' in html
    assert "Acme" in html  # the client each result belongs to


def test_message_text_cannot_inject_markup(client, world, committed):
    w = world
    with committed():
        send(w.people["client_admin"], w.general, '<img src=x onerror="alert(1)"> heron')
    client.force_login(w.people["client_admin"])
    html = client.get(URL, {"q": "heron"}).content.decode()
    assert "<img src=x" not in html and "<mark>heron</mark>" in html
    if connection.vendor == "sqlite":
        assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt; <mark>heron</mark>" in html
    # (PostgreSQL's headline leaves out what its parser reads as a tag.)


def test_empty_states_and_errors(client, world):
    client.force_login(world.people["client_admin"])
    html = client.get(URL).content.decode()
    assert "Type a few words above" in html
    html = client.get(URL, {"q": "nothingmatchesthis"}).content.decode()
    assert "Nothing found" in html
    html = client.get(URL, {"q": "zebra", "type": "invoice"}).content.decode()
    assert 'role="alert"' in html and "type is one of" in html
    html = client.get(URL, {"q": "zebra", "account": world.globex.public_id}).content.decode()
    assert "not one you can search" in html


def test_filters_narrow_the_results(client, world):
    w = world
    client.force_login(w.people["firm_admin"])
    html = client.get(URL, {"q": "zebra", "type": "matter"}).content.decode()
    assert w.matter.public_id in html and w.brief.public_id not in html
    html = client.get(URL, {"q": "zebra", "account": w.globex.public_id}).content.decode()
    assert "A <mark>zebra</mark> at Globex" in html and w.brief.public_id not in html
    assert f'<option value="{w.globex.public_id}" selected>' in html


def test_the_page_costs_the_same_queries_however_much_it_finds(client, world, committed):
    w = world
    client.force_login(w.people["staff_on_team"])

    def cost() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(URL, {"q": "kestrel"}).status_code == 200
        return len(queries)

    with committed():
        send(w.people["client_admin"], w.general, "kestrel one")
    cost()  # the first page of a session also loads what later ones find cached
    small = cost()
    with committed():
        for n in range(10):
            send(w.people["client_admin"], w.general, f"kestrel {n}")
    assert cost() == small


def test_every_signed_in_page_has_the_search_box(client, world):
    client.force_login(world.people["client_member"])
    html = client.get("/").content.decode()
    assert '<form class="site-search" role="search"' in html
    assert '<label for="site-search"' in html and 'id="site-search" name="q"' in html
    assert 'aria-keyshortcuts="/"' in html
    assert "frontend/js/search_shortcut" in html
