"""Where a new ticket goes: the routing rules in order, then the account team.

A rule matches when each of its conditions holds (an empty one holds for any ticket): the
ticket's category, its account, and any of its keywords (one word or phrase per line) found
in the subject or body as whole words, whatever the case. The first matching rule whose
target can take the ticket wins:

- a person, if they are still active firm staff who can see the account; else the next rule;
- a queue, which gives the ticket to its members in turn (round-robin, by the order they
  joined the firm: their primary key), among those active firm staff who can see the
  account and are present (online or away on a socket, ``messaging.presence``); when none
  of them is present, in turn among all of them. The queue row is locked for the turn, so
  two tickets routed at once never take the same turn. A queue with nobody eligible falls
  through to the next rule.

When no rule places it, the account team does: its lead if active, else the active team
member with the fewest unfinished tickets (least-loaded rather than round-robin: the load
is already on the tickets, so nothing more is kept per account), the earliest to join on a
tie. An account without an active team leaves the ticket unassigned (firm admins see it in
the "unassigned" queue).

Precondition: called inside the transaction that creates the ticket.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db.models import Count, Q

from accounts import permissions
from accounts.models import ClientAccount, FirmRole, TeamAssignment, User
from accounts.permissions import Action
from messaging import presence
from support.models import DONE_STATUSES, Category, Queue, RoutingRule, Ticket

STAFF_ROLES = (FirmRole.ADMIN, FirmRole.STAFF)


@dataclass(frozen=True)
class Route:
    assignee: User | None
    queue: Queue | None = None
    rule: RoutingRule | None = None


def keyword_patterns(keywords: str) -> list[re.Pattern]:
    """One pattern per non-empty line: the words of the line in order, separated by any
    whitespace, not inside a longer word, case-insensitive."""
    patterns = []
    for line in keywords.splitlines():
        words = line.split()
        if words:
            phrase = r"\s+".join(re.escape(word) for word in words)
            patterns.append(re.compile(rf"(?<!\w){phrase}(?!\w)", re.IGNORECASE))
    return patterns


def keywords_match(keywords: str, *texts: str) -> bool:
    """Whether any keyword line of ``keywords`` is in any of ``texts``; an empty list of
    keywords matches everything."""
    patterns = keyword_patterns(keywords)
    if not patterns:
        return True
    return any(pattern.search(text) for pattern in patterns for text in texts)


def can_take(user: User | None, account: ClientAccount) -> bool:
    """Whether ``user`` may be handed a ticket of ``account``: active firm staff who can see
    the account (a firm admin, or on its team)."""
    return (
        user is not None
        and user.is_active
        and user.is_firm_staff
        and permissions.can_on_account(user, Action.VIEW, account)
    )


def takers(account: ClientAccount) -> list[User]:
    """Everyone ``can_take`` allows for a ticket of ``account`` (the choices of a reassign
    form), by name: one query."""
    return list(
        permissions.people_seeing_account(account.pk)
        .filter(firm_role__in=STAFF_ROLES)
        .order_by("name", "email")
    )


def _eligible_members(queue: Queue, account: ClientAccount) -> list[User]:
    return list(
        queue.members.filter(is_active=True, firm_role__in=STAFF_ROLES)
        .filter(Q(firm_role=FirmRole.ADMIN) | Q(team_assignments__account=account))
        .distinct()
        .order_by("pk")
    )


def queue_turn(queue: Queue, account: ClientAccount) -> User | None:
    """The member whose turn it is (see the module's note), recorded on the queue; None if
    no member can take a ticket of ``account``. Locks the queue row until the transaction
    ends."""
    locked = Queue.objects.select_for_update().get(pk=queue.pk)
    members = _eligible_members(locked, account)
    if not members:
        return None
    statuses = presence.statuses_now([member.pk for member in members])
    present = [m for m in members if statuses.get(m.pk, presence.OFFLINE) != presence.OFFLINE]
    candidates = present or members
    last = locked.last_assigned_id or 0
    chosen = next((m for m in candidates if m.pk > last), candidates[0])
    locked.last_assigned = chosen
    locked.save(update_fields=["last_assigned"])
    queue.last_assigned = chosen
    return chosen


def team_fallback(account: ClientAccount) -> User | None:
    """The account team's choice (see the module's note), or None without an active team."""
    places = list(
        TeamAssignment.objects.filter(
            account=account, user__is_active=True, user__firm_role__in=STAFF_ROLES
        )
        .select_related("user")
        .order_by("-lead", "user_id")
    )
    if not places:
        return None
    if places[0].lead:
        return places[0].user
    loads = dict(
        Ticket.objects.filter(assignee__in=[p.user_id for p in places])
        .exclude(status__in=DONE_STATUSES)
        .values_list("assignee")
        .annotate(n=Count("pk"))
        .values_list("assignee", "n")
    )
    return min((p.user for p in places), key=lambda u: (loads.get(u.pk, 0), u.pk))


def route(*, account: ClientAccount, category: Category, subject: str, body: str) -> Route:
    """Where a new ticket of ``account`` in ``category`` goes (see the module's note)."""
    rules = (
        RoutingRule.objects.filter(active=True)
        .filter(Q(category__isnull=True) | Q(category=category))
        .filter(Q(account__isnull=True) | Q(account=account))
        .select_related("assign_to", "queue")
        .order_by("position", "pk")
    )
    for rule in rules:
        if not keywords_match(rule.keywords, subject, body):
            continue
        if rule.assign_to_id is not None:
            if can_take(rule.assign_to, account):
                return Route(assignee=rule.assign_to, rule=rule)
            continue
        chosen = queue_turn(rule.queue, account)
        if chosen is not None:
            return Route(assignee=chosen, queue=rule.queue, rule=rule)
    return Route(assignee=team_fallback(account))
