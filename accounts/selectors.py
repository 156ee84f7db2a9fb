"""Reads of the accounts app, filtered by what the user may see (through
``accounts.permissions``), shaped for pages and the API with a fixed number of queries."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.models import Session
from django.db import models
from django.db.models import Count, Prefetch, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from guardian.utils import get_group_obj_perms_model, get_user_obj_perms_model

from accounts import permissions
from accounts.errors import Invalid, NotFound
from accounts.ids import is_public_id
from accounts.models import (
    SESSION_INDEXED_ENGINES,
    ClientAccount,
    FirmRole,
    Invitation,
    Matter,
    Membership,
    SessionKeyDigest,
    SignedInSession,
    TeamAssignment,
    User,
    session_digest,
)
from accounts.permissions import Action, Role


@dataclass
class AccountSummary:
    account: ClientAccount
    role: Role | None
    team: list[TeamAssignment] = field(default_factory=list)
    matters: list[Matter] = field(default_factory=list)
    member_count: int = 0


def accounts_for_user(user: User, *, include_archived: bool = True) -> list[AccountSummary]:
    """The accounts the user may see, each with their role, its team and the matters they
    may see. Four queries whatever the number of accounts."""
    accounts_qs: QuerySet[ClientAccount] = permissions.accounts_visible_to(user)
    if not include_archived:
        accounts_qs = accounts_qs.filter(status="active")
    visible_matters = permissions.matters_visible_to(user).order_by("title")
    accounts = list(
        accounts_qs.annotate(member_count=Count("memberships", distinct=True))
        .prefetch_related(
            Prefetch(
                "team_assignments",
                queryset=TeamAssignment.objects.select_related("user").filter(user__is_active=True),
            ),
            Prefetch("matters", queryset=visible_matters, to_attr="visible_matters"),
        )
        .order_by("status", "name")
    )
    roles = permissions.roles_by_account(user, accounts)
    return [
        AccountSummary(
            account=a,
            role=roles.get(a.pk),
            team=list(a.team_assignments.all()),
            matters=a.visible_matters,
            member_count=a.member_count,
        )
        for a in accounts
    ]


def account_roles(user: User) -> list[tuple[ClientAccount, Role | None]]:
    """The accounts the user may see, each with their role, and nothing else about them (for
    ``GET /api/v1/me``): two queries whatever the number of accounts, none for teams or
    matters it does not show."""
    accounts = list(permissions.accounts_visible_to(user).order_by("status", "name"))
    roles = permissions.roles_by_account(user, accounts)
    return [(account, roles.get(account.pk)) for account in accounts]


@dataclass
class AccountDetail:
    account: ClientAccount
    role: Role | None
    can_change: bool
    can_invite: bool
    members: list[Membership]
    team: list[TeamAssignment]
    matters: list[Matter]
    invitations: list[Invitation]


def account_detail(user: User, account: ClientAccount) -> AccountDetail:
    """Everything the account page shows. The caller has already resolved ``account``
    through ``permissions.account_for`` (so the user may see it)."""
    can_invite = permissions.can_on_account(user, Action.INVITE, account)
    invitations: list[Invitation] = []
    if can_invite:
        invitations = list(
            account.invitations.filter(accepted_at__isnull=True, revoked_at__isnull=True)
            .select_related("invited_by")
            .order_by("-created_at")
        )
    return AccountDetail(
        account=account,
        role=permissions.role_in_account(user, account),
        can_change=permissions.can_on_account(user, Action.CHANGE, account),
        can_invite=can_invite,
        members=list(
            account.memberships.select_related("user")
            .filter(user__is_active=True)
            .order_by("user__name")
        ),
        team=list(
            account.team_assignments.select_related("user")
            .filter(user__is_active=True)
            .order_by("-lead", "user__name")
        ),
        matters=list(permissions.matters_visible_to(user, account).order_by("title")),
        invitations=invitations,
    )


def matter_people(matter: Matter) -> list[User]:
    """Who can see a matter: for a privileged one, its grantees who still reach the account;
    otherwise everyone with access to the account."""
    account = matter.account
    reach = Q(memberships__account=account) | Q(team_assignments__account=account)
    people = User.objects.filter(is_active=True)
    if matter.privileged:
        # Firm admins reach every account, so a grant is all they need.
        granted = permissions.privileged_grantees(matter).values("pk")
        people = people.filter(pk__in=granted).filter(reach | Q(firm_role="admin"))
    else:
        people = people.filter(reach)
    return list(people.distinct().order_by("name"))


def account_people(account: ClientAccount) -> list[User]:
    """The active people of an account: its client members and its team."""
    return list(
        User.objects.filter(is_active=True)
        .filter(Q(memberships__account=account) | Q(team_assignments__account=account))
        .distinct()
        .order_by("name")
    )


def avatar_url(user: User) -> str | None:
    """The address of the person's picture, or None without one. A new picture is stored
    under a new random name, so the address changes with it and a browser's cached copy of
    the old one is never shown."""
    if not user.avatar:
        return None
    version = hashlib.sha256(user.avatar.name.encode()).hexdigest()[:12]
    return reverse("frontend:avatar", args=[user.public_id]) + f"?v={version}"


def person_json(user: User | None) -> dict | None:
    """A person as frames, pages' data and the API show them: public id, name, initials and
    picture (``avatar``: an address or None)."""
    if user is None:
        return None
    return {
        "id": user.public_id,
        "name": user.name,
        "initials": user.initials,
        "avatar": avatar_url(user),
    }


def user_by_public_id(public_id: object, *, active_only: bool = False) -> User | None:
    """The user with this public id, or None (also for an id of the wrong shape, before any
    query). Not a permission check: the service handed the user decides what may be done."""
    if not is_public_id(public_id):
        return None
    users = User.objects.filter(public_id=public_id)
    if active_only:
        users = users.filter(is_active=True)
    return users.first()


def person_for(viewer: User, public_id: object) -> User:
    """The person with this public id if ``viewer`` may see them
    (``permissions.can_view_person``); NotFound alike for unknown and hidden people."""
    person = user_by_public_id(public_id)
    if person is None or not permissions.can_view_person(viewer, person):
        raise NotFound("No such person.")
    return person


@dataclass(frozen=True)
class AccessFacts:
    """What a user's access is computed from, as stored now: ``fingerprint`` changes when any
    of it does (see ``access_fingerprints``); ``user`` carries the row's password, enough to
    verify a session's auth hash."""

    fingerprint: str
    user: User


def access_fingerprints(
    user_ids: Iterable[int], item_models: Iterable[type[models.Model]] = ()
) -> dict[int, AccessFacts]:
    """The user-side facts that decide what each of these users may see, as a fingerprint
    per user, in six queries whatever the number of users: the user row (active, firm role,
    superuser, password), their memberships with role, their team places, the groups they
    are in, the object permissions of those groups on client accounts and the user's own on
    client accounts and on ``item_models`` (a privileged item's grant). Users that do not
    exist are missing from the answer. Not a permission check: two equal fingerprints say
    that nothing ``accounts.permissions`` reads about the user changed in between."""
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    types = list(ContentType.objects.get_for_models(ClientAccount, *item_models).values())
    groups_of = User.groups.through.objects.filter(user_id__in=ids)
    users = User.objects.filter(pk__in=ids).values_list(
        "pk", "is_active", "is_superuser", "firm_role", "password"
    )
    rows: dict[int, list[tuple]] = defaultdict(list)
    for user_id, *rest in Membership.objects.filter(user_id__in=ids).values_list(
        "user_id", "pk", "account_id", "role"
    ):
        rows[user_id].append(("membership", *rest))
    for user_id, *rest in TeamAssignment.objects.filter(user_id__in=ids).values_list(
        "user_id", "pk", "account_id"
    ):
        rows[user_id].append(("team", *rest))
    groups: dict[int, list[int]] = defaultdict(list)
    for user_id, pk, group_id in groups_of.values_list("user_id", "pk", "group_id"):
        rows[user_id].append(("group", pk, group_id))
        groups[user_id].append(group_id)
    for user_id, *rest in (
        get_user_obj_perms_model()
        .objects.filter(user_id__in=ids, content_type__in=types)
        .values_list("user_id", "pk", "content_type_id", "object_pk", "permission_id")
    ):
        rows[user_id].append(("grant", *rest))
    group_grants: dict[int, list[tuple]] = defaultdict(list)
    for group_id, *rest in (
        get_group_obj_perms_model()
        .objects.filter(group_id__in=groups_of.values("group_id"), content_type__in=types)
        .values_list("group_id", "pk", "content_type_id", "object_pk", "permission_id")
    ):
        group_grants[group_id].append(("group_grant", group_id, *rest))
    answer: dict[int, AccessFacts] = {}
    for pk, is_active, is_superuser, firm_role, password in users:
        facts = rows[pk]
        for group_id in groups[pk]:
            facts.extend(group_grants[group_id])
        digest = hashlib.blake2b(digest_size=16)
        digest.update(repr((is_active, is_superuser, firm_role, password)).encode())
        digest.update(repr(sorted(facts)).encode())
        answer[pk] = AccessFacts(
            fingerprint=digest.hexdigest(),
            user=User(
                pk=pk,
                is_active=is_active,
                is_superuser=is_superuser,
                firm_role=firm_role,
                password=password,
            ),
        )
    return answer


# --- lists of people and clients, a page at a time ----------------------------------------------

DEFAULT_PAGE = 50
MAX_PAGE = 100


def page_limit(value: object) -> int:
    """``?limit=``: 1 to 100, 50 if not given; Invalid (``bad_limit``) otherwise."""
    if value in (None, ""):
        return DEFAULT_PAGE
    if isinstance(value, str) and value.isdigit() and 1 <= int(value) <= MAX_PAGE:
        return int(value)
    raise Invalid(
        f"limit is a number from 1 to {MAX_PAGE}.", code="bad_limit", fields={"limit": "invalid"}
    )


def rows_after(
    queryset: QuerySet,
    cursor: object,
    name: str = "created_at",
    public_id: str = "public_id",
    *,
    newest_first: bool = False,
) -> QuerySet:
    """The rows after the one whose ``public_id`` field is ``cursor``, in ``(name,
    public_id)`` order (descending with ``newest_first``); Invalid (``bad_cursor``) if the
    cursor is not one of this list's."""
    if cursor in (None, ""):
        return queryset
    after = (
        queryset.filter(**{public_id: cursor}).values_list(name, public_id).first()
        if is_public_id(cursor)
        else None
    )
    if after is None:
        raise Invalid(
            "That cursor is not one of this list's.",
            code="bad_cursor",
            fields={"cursor": "invalid"},
        )
    beyond = "lt" if newest_first else "gt"
    return queryset.filter(
        Q(**{f"{name}__{beyond}": after[0]})
        | Q(**{name: after[0], f"{public_id}__{beyond}": after[1]})
    )


def _cut(rows: list, limit: int, cursor_of) -> tuple[list, str | None]:
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (cursor_of(rows[-1]) if more and rows else None)


@dataclass
class ClientRow:
    account: ClientAccount
    people: int
    team: int
    lead: User | None


@dataclass
class ClientsPage:
    rows: list[ClientRow]
    next: str | None


def client_accounts_page(user: User, *, cursor: object = None, limit: int = DEFAULT_PAGE):
    """The client accounts the user may see, by name, with how many client people and team
    members each has and its account lead: three queries for a page, whatever its size."""
    accounts = rows_after(
        permissions.accounts_visible_to(user), cursor, "name", "public_id"
    ).order_by("name", "public_id")
    page = list(
        accounts.annotate(
            people=Count("memberships", filter=Q(memberships__user__is_active=True), distinct=True),
            team=Count(
                "team_assignments",
                filter=Q(team_assignments__user__is_active=True),
                distinct=True,
            ),
        ).prefetch_related(
            Prefetch(
                "team_assignments",
                queryset=TeamAssignment.objects.filter(lead=True).select_related("user"),
                to_attr="leads",
            )
        )[: limit + 1]
    )
    page, following = _cut(page, limit, lambda a: a.public_id)
    return ClientsPage(
        rows=[
            ClientRow(
                account=a,
                people=a.people,
                team=a.team,
                lead=a.leads[0].user if a.leads and a.leads[0].user.is_active else None,
            )
            for a in page
        ],
        next=following,
    )


@dataclass
class AccountPeople:
    """An account's people as its People page and ``GET …/people`` show them: its whole team
    (lead first), a page of its client people, and, for whoever may invite, the pending
    invitations."""

    account: ClientAccount
    team: list[TeamAssignment]
    members: list[Membership]
    next: str | None
    invitations: list[Invitation]
    can_invite: bool
    can_manage_team: bool


def account_people_page(
    user: User, account: ClientAccount, *, cursor: object = None, limit: int = DEFAULT_PAGE
) -> AccountPeople:
    """The caller has resolved ``account`` through ``permissions.account_for`` (the user may
    see it). Four queries whatever the number of people."""
    can_invite = permissions.can_on_account(user, Action.INVITE, account)
    members = rows_after(
        account.memberships.filter(user__is_active=True),
        cursor,
        "user__name",
        "user__public_id",
    )
    members_page, following = _cut(
        list(members.select_related("user").order_by("user__name", "user__public_id")[: limit + 1]),
        limit,
        lambda m: m.user.public_id,
    )
    invitations: list[Invitation] = []
    if can_invite:
        invitations = list(
            account.invitations.filter(accepted_at__isnull=True, revoked_at__isnull=True)
            .select_related("invited_by")
            .order_by("-created_at")[:MAX_PAGE]
        )
    return AccountPeople(
        account=account,
        team=list(
            account.team_assignments.select_related("user")
            .filter(user__is_active=True)
            .order_by("-lead", "user__name", "user__public_id")
        ),
        members=members_page,
        next=following,
        invitations=invitations,
        can_invite=can_invite,
        can_manage_team=permissions.can_manage_team(user),
    )


@dataclass
class FirmPeoplePage:
    rows: list[User]
    next: str | None


def firm_people_page(*, cursor: object = None, limit: int = DEFAULT_PAGE) -> FirmPeoplePage:
    """The firm's people (firm admins and staff, switched off or not) by name, each with
    ``team_count``, the number of accounts whose team they are on: one query for a page.
    Not a permission check: the firm People page is for firm admins, who see everyone."""
    people = rows_after(
        User.objects.filter(firm_role__in=[FirmRole.ADMIN, FirmRole.STAFF]),
        cursor,
        "name",
        "public_id",
    )
    rows = list(
        people.annotate(team_count=Count("team_assignments", distinct=True)).order_by(
            "name", "public_id"
        )[: limit + 1]
    )
    rows, following = _cut(rows, limit, lambda u: u.public_id)
    return FirmPeoplePage(rows=rows, next=following)


def firm_staff_active() -> list[User]:
    """The firm's active admins and staff by name: who may be put on a team."""
    return list(
        User.objects.filter(is_active=True, firm_role__in=[FirmRole.ADMIN, FirmRole.STAFF])
        .only("pk", "public_id", "name", "email", "firm_role", "is_active")
        .order_by("name", "public_id")
    )


def team_place(account: ClientAccount, user: User) -> TeamAssignment | None:
    """The user's place on the account's team, or None."""
    return TeamAssignment.objects.filter(account=account, user=user).first()


def account_member(account: ClientAccount, user: User) -> bool:
    """Whether the user is one of the account's client people."""
    return Membership.objects.filter(account=account, user=user).exists()


# --- signed-in sessions -----------------------------------------------------------------


@dataclass(frozen=True)
class SessionRow:
    id: str
    device: str
    ip: str | None
    signed_in_at: datetime
    last_seen_at: datetime
    current: bool


def signed_in_session(session_key: str | None) -> SignedInSession | None:
    """The index row of this session, if it has one."""
    if not session_key:
        return None
    return SignedInSession.objects.filter(key_digest=session_digest(session_key)).first()


def signed_in_sessions(user: User, current_session_key: str | None) -> list[SessionRow]:
    """The person's signed-in browsers (at most 200), the current one first, then by last
    use; rows whose session expired or was deleted behind the index's back are left out.
    Two queries."""
    rows = list(SignedInSession.objects.filter(user=user).order_by("-last_seen_at")[:200])
    if settings.SESSION_ENGINE in SESSION_INDEXED_ENGINES and rows:
        live = set(
            Session.objects.annotate(digest=SessionKeyDigest("session_key"))
            .filter(digest__in=[row.key_digest for row in rows], expire_date__gt=timezone.now())
            .values_list("digest", flat=True)
        )
        rows = [row for row in rows if row.key_digest in live]
    current = session_digest(current_session_key) if current_session_key else None
    answer = [
        SessionRow(
            id=row.public_id,
            device=row.device,
            ip=row.ip,
            signed_in_at=row.signed_in_at,
            last_seen_at=row.last_seen_at,
            current=row.key_digest == current,
        )
        for row in rows
    ]
    answer.sort(key=lambda row: not row.current)
    return answer
