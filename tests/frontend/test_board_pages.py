"""The staff board as a page: who reaches it, what it lists and in which order, its filters
and pages, and a number of queries that does not grow with the work on it."""

from __future__ import annotations

import datetime as dt
import re
from importlib import import_module

import pytest
from django.contrib import messages
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Matter, User
from projects.models import Milestone, Task
from tests import factories

BOARD = reverse("frontend:board")
# The module, not the view of the same name that frontend.views re-exports.
board_views = import_module("frontend.views.board")
ROLES = (*factories.ROLES, "deactivated", "anonymous")


def today() -> dt.date:
    return timezone.localdate()


def late_task(matter, days: int, position: int = 0) -> Task:
    return Task.objects.create(
        matter=matter,
        title=f"Late {position}",
        due=today() - dt.timedelta(days=days),
        position=position,
    )


def sign_in(client, people, role):
    if role == "deactivated":
        person = factories.staff(name="Dora Deactivated")
        User.objects.filter(pk=person.pk).update(is_active=False)
        client.force_login(person)
    elif role != "anonymous":
        client.force_login(people[role])
    return client


def matter_titles(body: str) -> list[str]:
    """The matters' titles as the board's rows give them, in order."""
    return re.findall(
        r'<th scope="row" data-label="[^"]*"><a href="/matters/[^"]+/">([^<]+)</a>', body
    )


@pytest.mark.parametrize("role", ROLES)
def test_who_reaches_the_board(client, people, acme, role):
    factories.matter(acme, title="Website relaunch")
    response = sign_in(client, people, role).get(BOARD)
    expected = {
        "firm_admin": 200,
        "staff_on_team": 200,
        "staff_off_team": 200,
        "anonymous": 302,
        "deactivated": 302,
    }.get(role, 404)
    assert response.status_code == expected
    if response.status_code == 200:
        shown = "Website relaunch" in response.content.decode()
        assert shown == (role in ("firm_admin", "staff_on_team"))


def test_the_board_lists_what_is_late_first(client, people, acme, globex):
    factories.matter(acme, title="On time")
    two = factories.matter(acme, title="Two days late")
    late_task(two, 2)
    nine = factories.matter(globex, title="Nine days late")
    late_task(nine, 9)
    late_task(nine, 1, position=1)
    secret = factories.matter(acme, title="Privileged dispute", privileged=True)
    late_task(secret, 30)

    body = sign_in(client, people, "firm_admin").get(BOARD).content.decode()
    assert matter_titles(body) == ["Nine days late", "Two days late", "On time"]
    assert "9 days late" in body and "2 tasks" in body
    assert "Privileged dispute" not in body
    assert "3 matters, 2 late" in body
    assert 'aria-label="Progress of Nine days late"' in body


def test_filters_by_client_and_mine(client, people, acme, globex):
    admin = people["firm_admin"]
    owned = factories.matter(acme, title="Owned by the admin")
    Matter.objects.filter(pk=owned.pk).update(owner=admin)
    factories.matter(acme, title="Someone else")
    factories.matter(globex, title="Globex work")
    sign_in(client, people, "firm_admin")

    body = client.get(BOARD, {"account": acme.public_id}).content.decode()
    assert sorted(matter_titles(body)) == ["Owned by the admin", "Someone else"]
    assert f'<option value="{acme.public_id}" selected>' in body
    body = client.get(BOARD, {"mine": "1"}).content.decode()
    assert matter_titles(body) == ["Owned by the admin"]
    assert "Show everything" in body


def test_a_client_the_user_does_not_serve_is_not_found(client, people, globex):
    sign_in(client, people, "staff_on_team")
    assert client.get(BOARD, {"account": globex.public_id}).status_code == 404
    assert client.get(BOARD, {"account": "acc_nosuchaccount"}).status_code == 404


def test_the_board_comes_in_pages(client, people, acme, monkeypatch):
    monkeypatch.setattr(board_views, "BOARD_PAGE", 2)
    for n in range(5):
        late_task(factories.matter(acme, title=f"Late by {n + 1}"), n + 1)
    sign_in(client, people, "staff_on_team")

    seen = []
    path = BOARD + "?account=" + acme.public_id
    while path:
        body = client.get(path).content.decode()
        seen += matter_titles(body)
        found = re.search(r'<a href="(\?[^"]+)" class="more">', body)
        path = BOARD + found.group(1).replace("&amp;", "&") if found else None
        if path:
            assert f"account={acme.public_id}" in path
    assert seen == [f"Late by {n}" for n in (5, 4, 3, 2, 1)]


def test_a_stale_cursor_starts_again_and_says_so(client, people, acme):
    factories.matter(acme, title="Only one")
    response = sign_in(client, people, "staff_on_team").get(BOARD, {"cursor": "mat_gone"})
    assert response.status_code == 200
    assert matter_titles(response.content.decode()) == ["Only one"]
    assert [m.level for m in messages.get_messages(response.wsgi_request)] == [messages.ERROR]


def test_staff_find_the_board_in_the_menu_and_on_their_home(client, people):
    home = sign_in(client, people, "staff_on_team").get(reverse("frontend:home")).content.decode()
    assert home.count(f'href="{BOARD}"') == 2
    client.logout()
    home = sign_in(client, people, "client_admin").get(reverse("frontend:home")).content.decode()
    assert f'href="{BOARD}"' not in home


def test_an_empty_board_says_why(client, people):
    body = sign_in(client, people, "staff_off_team").get(BOARD).content.decode()
    assert "Nothing on the board yet" in body


def _grow(account, n: int) -> None:
    staff = User.objects.filter(firm_role="staff").first()
    for i in range(n):
        matter = factories.matter(account, title=f"Grown {account.name} {i}")
        Matter.objects.filter(pk=matter.pk).update(
            owner=staff, target_date=today() + dt.timedelta(days=i), start_date=today()
        )
        for position in range(3):
            milestone = Milestone.objects.create(
                matter=matter,
                title=f"Step {position}",
                due=today() + dt.timedelta(days=position * 5 - 4),
                position=position,
            )
            for k in range(3):
                Task.objects.create(
                    matter=matter,
                    milestone=milestone,
                    title=f"Task {k}",
                    position=position * 10 + k,
                    due=today() - dt.timedelta(days=k),
                )


@pytest.mark.parametrize("role", ["firm_admin", "staff_on_team"])
def test_queries_do_not_grow_with_the_work(client, people, acme, globex, role):
    """The same count with the accounts' plans kept and with none kept (read anew)."""
    sign_in(client, people, role)
    _grow(acme, 1)
    client.get(BOARD)
    cache.clear()
    with CaptureQueriesContext(connection) as small_cold:
        assert client.get(BOARD).status_code == 200
    with CaptureQueriesContext(connection) as small:
        assert client.get(BOARD).status_code == 200
    _grow(acme, 8)
    _grow(globex, 8)
    cache.clear()
    with CaptureQueriesContext(connection) as large_cold:
        body = client.get(BOARD).content.decode()
    with CaptureQueriesContext(connection) as large:
        assert matter_titles(client.get(BOARD).content.decode()) == matter_titles(body)
    assert len(matter_titles(body)) >= 9
    assert len(large) == len(small), [q["sql"][:100] for q in large.captured_queries]
    assert len(large_cold) == len(small_cold)
    assert len(large) < len(large_cold)
