"""Search, filtered by what the caller may see.

Which rows a person may find is asked of the apps' own permission filters, by the item each
row points to, in the same SQL as the search: messages of the threads they read
(``messaging.selectors.threads_visible_to``), documents and matters they see
(``accounts.permissions.visible_items``: privileged ones by an explicit grant only), and
people of the accounts they see (``accounts.permissions.accounts_visible_to``: a suspended
account's own people see none of it). One query finds a page whatever its size; a second
one, for pages with people, says through which account each is reached.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from django.core.exceptions import EmptyResultSet
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils.html import escape

from accounts import permissions
from accounts.errors import Invalid
from accounts.models import ClientAccount, FirmRole, Membership, TeamAssignment, User
from messaging import selectors as messaging_selectors
from search.backends import MARK_END, MARK_START, Hit, backend
from search.models import Entry, Kind
from search.query import Query, checked_query
from vault.models import Document

DEFAULT_LIMIT = 20
MAX_LIMIT = 50
# How deep paging goes: past this, a narrower search serves better than another page.
MAX_OFFSET = 1000


@dataclass(frozen=True)
class Result:
    kind: str
    id: str
    title: str
    snippet_html: str
    url: str
    account: str | None
    context: str

    def json(self) -> dict:
        return {
            "type": self.kind,
            "id": self.id,
            "title": self.title,
            "snippet": self.snippet_html,
            "url": self.url,
            "account": self.account,
            "context": self.context,
        }


@dataclass(frozen=True)
class Page:
    query: Query
    results: list[Result]
    next_cursor: str | None


def checked_kind(value: object) -> str | None:
    if value in (None, ""):
        return None
    if value not in Kind.values:
        raise Invalid(
            f"type is one of {', '.join(Kind.values)}.", code="bad_type", fields={"type": "invalid"}
        )
    return value


def checked_limit(value: object) -> int:
    if value in (None, ""):
        return DEFAULT_LIMIT
    try:
        limit = int(str(value))
    except ValueError:
        limit = 0
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid(
            f"limit is a whole number from 1 to {MAX_LIMIT}.",
            code="bad_limit",
            fields={"limit": "invalid"},
        )
    return limit


def cursor_encode(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o{offset}".encode()).decode().rstrip("=")


def cursor_decode(value: object) -> int:
    if value in (None, ""):
        return 0
    try:
        text = base64.urlsafe_b64decode(str(value) + "=" * (-len(str(value)) % 4)).decode()
        offset = int(text[1:]) if text.startswith("o") else -1
    except (binascii.Error, UnicodeDecodeError, ValueError):
        offset = -1
    if not 0 <= offset <= MAX_OFFSET:
        raise Invalid(
            "That cursor is not one this search gave.",
            code="bad_cursor",
            fields={"cursor": "invalid"},
        )
    return offset


def snippet_html(snippet: str) -> str:
    """The snippet escaped, with the matches the backend marked wrapped in ``<mark>``: the
    only markup that can come out of it."""
    return escape(snippet).replace(MARK_START, "<mark>").replace(MARK_END, "</mark>")


def _people_visible_to(user: User, accounts: QuerySet) -> QuerySet[User]:
    found = Q(memberships__account__in=accounts) | Q(team_assignments__account__in=accounts)
    if user.is_firm_staff:
        # The firm's people know each other, on a team together or not.
        found |= Q(firm_role__in=[FirmRole.ADMIN, FirmRole.STAFF])
    return User.objects.filter(is_active=True).filter(found | Q(pk=user.pk))


def entries_visible_to(
    user: User, *, kind: str | None = None, account: ClientAccount | None = None
) -> QuerySet[Entry]:
    """The index rows ``user`` may find (of one kind, in one account), as one query."""
    if not (user.is_authenticated and user.is_active):
        return Entry.objects.none()
    accounts = permissions.accounts_visible_to(user)
    if account is not None:
        accounts = accounts.filter(pk=account.pk)
    accounts = accounts.values("pk")
    people = _people_visible_to(user, accounts)
    if account is not None:
        people = people.filter(
            Q(memberships__account=account) | Q(team_assignments__account=account)
        )
    visible = {
        Kind.MESSAGE: Q(
            kind=Kind.MESSAGE,
            thread__in=messaging_selectors.threads_visible_to(user).values("pk"),
        ),
        Kind.DOCUMENT: Q(
            kind=Kind.DOCUMENT,
            document__in=permissions.visible_items(user, Document.objects.all()).values("pk"),
        ),
        Kind.MATTER: Q(
            kind=Kind.MATTER, matter__in=permissions.matters_visible_to(user).values("pk")
        ),
        Kind.PERSON: Q(kind=Kind.PERSON, person__in=people.values("pk")),
    }
    wanted = Q()
    for name, condition in visible.items():
        if kind is None or kind == name:
            wanted |= condition
    queryset = Entry.objects.filter(wanted)
    if account is not None:
        queryset = queryset.filter(Q(account=account) | Q(kind=Kind.PERSON))
    return queryset


def _person_accounts(user: User, person_pks: list[int], account: ClientAccount | None) -> dict:
    """For each person found, an account both the searcher and they are in (the one asked
    for, if any), as ``{person_pk: (public_id, name)}``: two queries, none without people."""
    if not person_pks:
        return {}
    accounts = permissions.accounts_visible_to(user)
    if account is not None:
        accounts = accounts.filter(pk=account.pk)
    accounts = accounts.values("pk")
    found: dict[int, tuple[str, str]] = {}
    for model in (Membership, TeamAssignment):
        rows = (
            model.objects.filter(user_id__in=person_pks, account__in=accounts)
            .order_by("account__name", "account_id")
            .values_list("user_id", "account__public_id", "account__name")
        )
        for person_pk, public_id, name in rows:
            found.setdefault(person_pk, (public_id, name))
    return found


def search(
    user: User,
    *,
    q: object,
    kind: object = None,
    account_id: object = None,
    limit: object = None,
    cursor: object = None,
) -> Page:
    """A page of what ``user`` may find for ``q``, best first, in the account with public id
    ``account_id`` if given. Raises Invalid for a blank or over-long query (``query_required``,
    ``query_too_long``), an unknown type (``bad_type``), limit (``bad_limit``) or cursor
    (``bad_cursor``), then NotFound for an account the user does not see."""
    query = checked_query(q)
    kind = checked_kind(kind)
    limit = checked_limit(limit)
    offset = cursor_decode(cursor)
    account = permissions.account_for(user, str(account_id)) if account_id else None
    permitted = entries_visible_to(user, kind=kind, account=account).values("pk")
    try:
        sql, params = permitted.query.sql_with_params()
    except EmptyResultSet:
        return Page(query, [], None)
    # One more than asked: whether there is a next page.
    hits = backend().search(query, (sql, tuple(params)), limit=limit + 1, offset=offset)
    more = len(hits) > limit
    hits = hits[:limit]
    people = _person_accounts(user, [h.person_pk for h in hits if h.person_pk is not None], account)
    return Page(
        query,
        [_result(hit, people) for hit in hits],
        cursor_encode(offset + limit) if more and offset + limit <= MAX_OFFSET else None,
    )


def _result(hit: Hit, people: dict[int, tuple[str, str]]) -> Result:
    title, url, account, context = hit.title, hit.url, hit.account_public_id, ""
    if hit.kind == Kind.MESSAGE:
        # A message is named by its conversation.
        title, context = hit.label, "Message"
    elif hit.kind == Kind.PERSON:
        shared = people.get(hit.person_pk)
        if shared is not None:
            account, context = shared
            url = reverse("frontend:account", args=[account]) + "#people-h"
        else:
            url = reverse("frontend:home")
    return Result(
        kind=hit.kind,
        id=hit.public_id,
        title=title,
        snippet_html=snippet_html(hit.snippet),
        url=url,
        account=account,
        context=context,
    )
