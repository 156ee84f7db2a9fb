"""Routing (``support.routing``): rules in order by category, account and whole-word
keywords; a person or a queue's turn (present members first); fall-through for people who
left or lost the account; the account team's fallback; unassigned without a team."""

from __future__ import annotations

import time

import pytest

from accounts.services import client_accounts
from messaging import presence
from support.models import Queue, RoutingRule
from support.routing import can_take, keywords_match, route, takers
from tests import factories


def _redis():
    from messaging import redis_clients

    return redis_clients.sync_client() if redis_clients.configured() else None


@pytest.fixture(autouse=True)
def _nobody_online():
    presence._memory.entries.clear()
    marked: list[str] = []
    yield marked
    presence._memory.entries.clear()
    if marked:
        _redis().delete(*marked)


@pytest.fixture
def online(_nobody_online):
    """Mark people online as a socket of theirs would, in the store presence reads."""

    def mark(*people) -> None:
        for person in people:
            expiry = time.time() + 60
            redis = _redis()
            if redis is None:
                presence._memory.entries[person.pk] = {"socket": ("online", expiry)}
            else:
                key = presence.RedisStore._key(person.pk)
                redis.hset(key, "socket", f"online|{expiry:.0f}")
                _nobody_online.append(key)

    return mark


def deactivate(person) -> None:
    person.is_active = False
    person.save(update_fields=["is_active"])


def rule(position: int = 0, **given) -> RoutingRule:
    return RoutingRule.objects.create(position=position, name=f"Rule {position}", **given)


def queue(*members, name: str = "Engineering") -> Queue:
    made = Queue.objects.create(name=name)
    made.members.set(members)
    return made


def routed(account, category, subject="Question", body="Hello"):
    return route(account=account, category=category, subject=subject, body=body)


@pytest.mark.parametrize(
    ("keywords", "text", "matches"),
    [
        ("login", "My LOGIN fails", True),
        ("login", "the loginpage", False),
        ("log in", "cannot log   in today", True),
        ("log in", "cannot login", False),
        ("vpn\nsso", "Our SSO broke.", True),
        ("c++", "a C++ build", True),
        ("", "anything", True),
        ("  \n ", "anything", True),
        ("invoice", "invoices", False),
    ],
)
def test_keywords_are_whole_words_whatever_the_case(keywords, text, matches):
    assert keywords_match(keywords, text) is matches


def test_the_first_matching_rule_wins_in_order(acme, people):
    help_desk = factories.category("Help")
    billing = factories.category("Billing")
    other = factories.staff(accounts=(acme,))
    rule(0, category=billing, assign_to=other)
    rule(1, keywords="password", assign_to=people["staff_on_team"])
    rule(2, assign_to=other)
    first = routed(acme, help_desk, subject="Forgot my PASSWORD")
    assert first.assignee == people["staff_on_team"]
    assert first.rule.position == 1
    assert routed(acme, billing, subject="Forgot my password").assignee == other
    assert routed(acme, help_desk, subject="Hello").rule.position == 2


def test_a_rule_for_another_account_or_an_inactive_rule_does_not_match(acme, globex, people):
    help_desk = factories.category("Help")
    rule(0, account=globex, assign_to=people["firm_admin"])
    rule(1, assign_to=people["firm_admin"], active=False)
    assert routed(acme, help_desk).rule is None


def test_the_body_is_searched_too(acme, people):
    help_desk = factories.category("Help")
    rule(0, keywords="server down", assign_to=people["firm_admin"])
    assert routed(acme, help_desk, body="Our Server\ndown since 9").assignee == people["firm_admin"]


def test_a_person_who_left_or_lost_the_account_falls_through(acme, globex, people):
    help_desk = factories.category("Help")
    gone = factories.staff(accounts=(acme,))
    deactivate(gone)
    rule(0, assign_to=gone)
    rule(1, assign_to=people["staff_off_team"])  # serves Globex only
    rule(2, assign_to=people["client_admin"])  # not firm staff
    rule(3, assign_to=people["firm_admin"])
    assert routed(acme, help_desk).assignee == people["firm_admin"]


def test_a_queue_takes_turns_among_present_members(acme, people, online):
    help_desk = factories.category("Help")
    a = factories.staff(accounts=(acme,), name="A")
    b = factories.staff(accounts=(acme,), name="B")
    c = factories.staff(accounts=(acme,), name="C")
    engineering = queue(a, b, c)
    rule(0, queue=engineering)
    online(a, c)
    turns = [routed(acme, help_desk).assignee for _ in range(4)]
    assert turns == [a, c, a, c]
    assert routed(acme, help_desk).queue == engineering
    engineering.refresh_from_db()
    assert engineering.last_assigned == a


def test_when_nobody_in_the_queue_is_online_all_members_take_turns(acme):
    help_desk = factories.category("Help")
    a = factories.staff(accounts=(acme,))
    b = factories.staff(accounts=(acme,))
    rule(0, queue=queue(a, b))
    assert [routed(acme, help_desk).assignee for _ in range(3)] == [a, b, a]


def test_queue_members_who_cannot_take_the_ticket_are_skipped(acme, globex, people, online):
    help_desk = factories.category("Help")
    off_team = factories.staff(accounts=(globex,))
    gone = factories.staff(accounts=(acme,))
    deactivate(gone)
    on_team = factories.staff(accounts=(acme,))
    rule(0, queue=queue(off_team, gone, on_team, people["client_admin"]))
    online(off_team, gone)
    assert [routed(acme, help_desk).assignee for _ in range(2)] == [on_team, on_team]


def test_a_queue_with_nobody_eligible_falls_through(acme, globex, people):
    help_desk = factories.category("Help")
    rule(0, queue=queue(factories.staff(accounts=(globex,))))
    rule(1, assign_to=people["staff_on_team"])
    assert routed(acme, help_desk).assignee == people["staff_on_team"]


def test_firm_admins_in_a_queue_take_any_account(acme, people):
    help_desk = factories.category("Help")
    rule(0, queue=queue(people["firm_admin"]))
    assert routed(acme, help_desk).assignee == people["firm_admin"]


def test_without_a_rule_the_account_lead_takes_it(acme, people):
    help_desk = factories.category("Help")
    lead = factories.staff(accounts=(acme,))
    client_accounts.team_assign(actor=None, account=acme, user=lead, lead=True)
    assert routed(acme, help_desk).assignee == lead


def test_without_a_lead_the_least_loaded_of_the_team_takes_it(acme, people):
    help_desk = factories.category("Help")
    second = factories.staff(accounts=(acme,), name="Second")
    factories.ticket(acme, by=people["client_member"], category=help_desk)  # to staff_on_team
    assert routed(acme, help_desk).assignee == second


def test_an_account_without_an_active_team_leaves_it_unassigned(db, people):
    lonely = factories.account("Lonely")
    deactivate(factories.staff(accounts=(lonely,)))
    found = routed(lonely, factories.category("Help"))
    assert found.assignee is None
    assert found.queue is None


def test_the_reassign_choices_are_exactly_those_who_can_take_the_ticket(acme, people):
    gone = factories.staff(accounts=(acme,), name="Gone")
    gone.is_active = False
    gone.save(update_fields=["is_active"])
    everyone = [*people.values(), gone]
    expected = {p.pk for p in everyone if can_take(p, acme)}
    assert {p.pk for p in takers(acme)} == expected
    assert expected == {people["firm_admin"].pk, people["staff_on_team"].pk}
