"""The one permission API: "may this user do X to this object", for HTTP, WebSocket and
services alike, built on django-guardian.

Grants follow the data. Creating a client account creates three groups (members, client
admins, account team) holding guardian object permissions on it; memberships and team
assignments move users in and out of those groups (``accounts.services``). A privileged item
(a matter now; threads and documents later) is visible only through an explicit per-user
guardian grant on the item itself *and* access to its account, never through membership
alone: that is why those checks pass ``use_groups=False, with_superuser=False``.

A missing object and a forbidden one answer alike: callers get ``accounts.errors.NotFound``
for both.
Global (model-wide) permissions are never honoured for object access, so a stray
``accounts.view_clientaccount`` granted in the admin opens nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol, TypeVar

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q, QuerySet, Subquery
from django.db.models.functions import Cast
from guardian.core import ObjectPermissionChecker
from guardian.models import UserObjectPermission
from guardian.shortcuts import assign_perm, get_objects_for_user, get_users_with_perms, remove_perm

from accounts.errors import NotFound
from accounts.ids import is_public_id
from accounts.models import ClientAccount, ClientRole, Firm, FirmRole, Matter

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from accounts.models import User

    AnyUser = User | AnonymousUser


class Action(StrEnum):
    """What may be done to an account or an account-scoped item. Each check names the
    actions it answers for; any other raises ValueError rather than being taken for another
    one."""

    VIEW = "view"
    CHANGE = "change"
    INVITE = "invite"


class DocumentAction(StrEnum):
    """What may be done to a document of the vault (``can_on_document``)."""

    VIEW = "view"
    CHANGE = "change"
    ADD_VERSION = "add_version"


class ApprovalAction(StrEnum):
    """What may be done to an approval request (``can_on_approval``)."""

    VIEW = "view"
    DECIDE = "decide"
    WITHDRAW = "withdraw"


class SignatureAction(StrEnum):
    """What may be done to a signature request (``can_on_signature``)."""

    VIEW = "view"
    ACT = "act"  # sign, approve or decline as one of its signers or approvers
    VOID = "void"


class TaskAction(StrEnum):
    """What may be done to a task of a matter's plan (``can_on_task``)."""

    VIEW = "view"
    TICK = "tick"
    CHANGE = "change"


class BillingAction(StrEnum):
    """What may be done to an invoice, credit note or proposal (``can_on_billing``)."""

    VIEW = "view"
    CHANGE = "change"  # edit a draft, send, void, record a payment, issue a credit note
    ACCEPT = "accept"  # accept or decline a sent proposal


class TicketAction(StrEnum):
    """What may be done to a support ticket (``can_on_ticket``)."""

    VIEW = "view"
    REPLY = "reply"
    CHANGE = "change"  # status, assignee, priority
    CLOSE = "close"  # close or reopen: what a client may do to their own ticket


class Role(StrEnum):
    FIRM_ADMIN = "firm_admin"
    STAFF = "staff"
    CLIENT_ADMIN = "client_admin"
    CLIENT_MEMBER = "client_member"

    @property
    def label(self) -> str:
        return self.replace("_", " ").capitalize()


class AccountScoped(Protocol):
    """An item that belongs to a client account and may be privileged."""

    pk: int
    account_id: int
    privileged: bool


_ACCOUNT_PERMS = {
    Action.VIEW: "view_clientaccount",
    Action.CHANGE: "change_clientaccount",
    Action.INVITE: "invite_clientaccount",
}

# What each account group may do; services keep group membership in step with the data.
ACCOUNT_GROUP_PERMS = {
    "members_group": ["view_clientaccount"],
    "admins_group": ["view_clientaccount", "invite_clientaccount"],
    "team_group": ["view_clientaccount", "change_clientaccount", "invite_clientaccount"],
}

M = TypeVar("M", bound=models.Model)


def _active(user: AnyUser | None) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


def _view_codename(model: type[models.Model]) -> str:
    return f"{model._meta.app_label}.view_{model._meta.model_name}"


# --- client accounts -------------------------------------------------------------------------


def accounts_visible_to(user: AnyUser) -> QuerySet[ClientAccount]:
    """Every client account the user may see, by firm role, team or membership."""
    if not _active(user):
        return ClientAccount.objects.none()
    return get_objects_for_user(
        user, "accounts.view_clientaccount", klass=ClientAccount, accept_global_perms=False
    )


@dataclass(frozen=True)
class VisibleAccounts:
    """The accounts one user may see, read once (``visible_accounts``) and handed to the other
    readers of the same request (``visible_items(..., accounts=)``), which then filter by their
    ids instead of building and running guardian's query again. It answers for the moment it
    was read: keep it for one request, never longer, as grants change."""

    user_id: int | None
    accounts: tuple[ClientAccount, ...]

    @property
    def ids(self) -> list[int]:
        return [account.pk for account in self.accounts]

    def only(self, account: ClientAccount) -> VisibleAccounts:
        """The same, narrowed to ``account`` (none if the user may not see it)."""
        kept = tuple(a for a in self.accounts if a.pk == account.pk)
        return VisibleAccounts(user_id=self.user_id, accounts=kept)


def visible_accounts(
    user: AnyUser, *, order_by: Iterable[str] = ("name",), prefetch: Iterable = ()
) -> VisibleAccounts:
    """Every account ``accounts_visible_to`` answers for the user, read now (one query, and
    one per ``prefetch`` lookup), in ``order_by`` order."""
    if not _active(user):
        return VisibleAccounts(user_id=None, accounts=())
    rows = accounts_visible_to(user).prefetch_related(*prefetch).order_by(*order_by)
    return VisibleAccounts(user_id=user.pk, accounts=tuple(rows))


def people_seeing_account(account_id: int) -> QuerySet:
    """The active users who may see the account: its client members, its team and the firm
    admins (who the account's groups and the firm role let in), once each."""
    return (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(
            Q(memberships__account_id=account_id)
            | Q(team_assignments__account_id=account_id)
            | Q(firm_role=FirmRole.ADMIN)
        )
        .distinct()
    )


def can_view_person(viewer: AnyUser, person: User) -> bool:
    """Whether ``viewer`` may see ``person``'s face (their avatar): themselves, anyone for
    firm staff, and for a client the people of the accounts they see (its members, its
    team) and the firm admins (who see every account)."""
    if not _active(viewer):
        return False
    if viewer.pk == person.pk or viewer.is_firm_staff:
        return True
    visible = accounts_visible_to(viewer)
    if person.is_firm_admin:
        return visible.exists()
    return visible.filter(
        Q(memberships__user_id=person.pk) | Q(team_assignments__user_id=person.pk)
    ).exists()


def _known(action: object, known: Mapping, where: str):
    """``action`` as one of ``known``'s keys, else ValueError: an action a check does not
    name is a mistake in the caller, never a reason to answer another question."""
    for name in known:
        if action == name:
            return name
    raise ValueError(f"{where} does not answer for {action!r}")


# The guardian checkers of the request being served, by user id, while ``checkers_shared``
# holds (a request that changes nothing): a checker remembers what it fetched for an object,
# so the same question on one page asks the database once. None elsewhere (sockets, services,
# commands): every check asks anew, as a change of access must be seen at once.
_request_checkers: ContextVar[dict[int, ObjectPermissionChecker] | None] = ContextVar(
    "request_checkers", default=None
)


@contextmanager
def checkers_shared() -> Iterator[None]:
    """While this holds, one guardian checker per user answers every check (see
    ``_request_checkers``); ``checkers_forget`` drops them when a permission changes."""
    token = _request_checkers.set({})
    try:
        yield
    finally:
        _request_checkers.reset(token)


def checkers_forget() -> None:
    """A permission or a group changed: the shared checkers (if any) remember no answer."""
    shared = _request_checkers.get()
    if shared:
        shared.clear()


def _forget(**_kwargs) -> None:
    checkers_forget()


def connect_receivers() -> None:
    """Forget the shared checkers' answers whenever an object permission or a group's members
    change (a request that changes nothing may still call a service that does)."""
    from django.db.models.signals import m2m_changed, post_delete, post_save
    from guardian.models import GroupObjectPermission

    for model in (UserObjectPermission, GroupObjectPermission):
        post_save.connect(_forget, sender=model, dispatch_uid=f"checkers_forget_save_{model}")
        post_delete.connect(_forget, sender=model, dispatch_uid=f"checkers_forget_del_{model}")
    m2m_changed.connect(
        _forget, sender=get_user_model().groups.through, dispatch_uid="checkers_forget_groups"
    )


def _checker(user: User) -> ObjectPermissionChecker:
    shared = _request_checkers.get()
    if shared is None:
        return ObjectPermissionChecker(user)
    checker = shared.get(user.pk)
    if checker is None:
        checker = shared[user.pk] = ObjectPermissionChecker(user)
    return checker


def can_on_account(user: AnyUser, action: Action, account: ClientAccount) -> bool:
    """VIEW, CHANGE or INVITE on the account; ValueError for any other action."""
    action = _known(action, _ACCOUNT_PERMS, "can_on_account")
    if not _active(user):
        return False
    return _checker(user).has_perm(_ACCOUNT_PERMS[action], account)


def account_for(user: AnyUser, public_id: str, action: Action = Action.VIEW) -> ClientAccount:
    """The account with this public id if the user may do ``action`` to it, else NotFound.

    A user who may see the account but not change it also gets NotFound for CHANGE: the
    answer never tells more than the user may already know.
    """
    _known(action, _ACCOUNT_PERMS, "account_for")
    if not is_public_id(public_id):
        raise NotFound
    try:
        account = ClientAccount.objects.get(public_id=public_id)
    except (ClientAccount.DoesNotExist, ValueError, TypeError):
        raise NotFound from None
    if not can_on_account(user, action, account):
        raise NotFound
    return account


def role_in_account(user: AnyUser, account: ClientAccount) -> Role | None:
    """The user's role towards one account, for display and for the API."""
    if not can_on_account(user, Action.VIEW, account):
        return None
    if user.is_firm_admin:
        return Role.FIRM_ADMIN
    if user.is_firm_staff:
        return Role.STAFF
    membership = account.memberships.filter(user=user).only("role").first()
    if membership is None:
        return None
    return Role.CLIENT_ADMIN if membership.role == ClientRole.ADMIN else Role.CLIENT_MEMBER


def roles_by_account(user: AnyUser, accounts: list[ClientAccount]) -> dict[int, Role]:
    """Roles for many accounts in one query (lists must not query per row)."""
    if not _active(user):
        return {}
    if user.is_firm_admin:
        return dict.fromkeys((a.pk for a in accounts), Role.FIRM_ADMIN)
    if user.is_firm_staff:
        # Only the accounts whose team the user is on (the team group grants the access).
        on_team = set(
            user.groups.filter(pk__in=[a.team_group_id for a in accounts]).values_list(
                "pk", flat=True
            )
        )
        return {a.pk: Role.STAFF for a in accounts if a.team_group_id in on_team}
    memberships = user.memberships.filter(account__in=accounts).values_list("account_id", "role")
    return {
        account_id: Role.CLIENT_ADMIN if role == ClientRole.ADMIN else Role.CLIENT_MEMBER
        for account_id, role in memberships
    }


def can_manage_team(user: AnyUser) -> bool:
    """Who serves which client is decided by firm admins."""
    return _active(user) and user.is_firm_admin


def can_manage_firm(user: AnyUser) -> bool:
    return _active(user) and user.is_firm_admin


# --- account-scoped items (matters now; threads and documents use the same rules) ----------


# Up to this many accounts, ``visible_items`` filters by their ids when the caller read them
# (``VisibleAccounts``); beyond it SQLite may refuse the number of parameters, and the query
# asks guardian again.
ACCOUNT_ID_LIMIT = 500


def _granted(user: User, model: type[models.Model]) -> QuerySet:
    """The primary keys of the rows of ``model`` on which ``user`` holds an explicit view grant
    of their own (not a group's, not a superuser's), as a subquery: guardian's generic
    object permissions read directly, which compiles in a fraction of the time
    ``get_objects_for_user`` takes for the same answer."""
    pk = model._meta.pk
    as_pk = pk.target_field if pk.is_relation else pk
    return UserObjectPermission.objects.filter(
        user_id=user.pk,
        content_type=ContentType.objects.get_for_model(model),
        permission__codename=f"view_{model._meta.model_name}",
    ).values_list(Cast("object_pk", output_field=as_pk.__class__()), flat=True)


def granted_pks(user: AnyUser, model: type[models.Model]) -> set:
    """The primary keys of the rows of ``model`` on which ``user`` holds an explicit view grant
    of their own, read now (one query; none for an inactive user): what ``visible_items``
    lets through of the privileged rows, for a reader that filters rows it already holds."""
    if not _active(user):
        return set()
    return set(_granted(user, model))


def account_filter(user: AnyUser, accounts: VisibleAccounts | None = None) -> object:
    """What an ``account__in`` filter takes for the accounts the user may see: the ids of
    ``accounts`` (read earlier in this request by ``visible_accounts``; some of them narrow
    the answer to those) when given and not too many, else guardian's query as a subquery.
    ValueError if ``accounts`` were read for someone else."""
    if accounts is None or not _active(user):
        return accounts_visible_to(user).values("pk")
    if accounts.user_id != user.pk:
        raise ValueError("the accounts given are those another user may see")
    if len(accounts.accounts) > ACCOUNT_ID_LIMIT:
        return accounts_visible_to(user).values("pk")
    return accounts.ids


def visible_items(
    user: AnyUser, queryset: QuerySet[M], *, accounts: VisibleAccounts | None = None
) -> QuerySet[M]:
    """Filter a queryset of account-scoped items to those the user may see; ``accounts`` as
    for ``account_filter``."""
    if not _active(user):
        return queryset.none()
    return queryset.filter(account__in=account_filter(user, accounts)).filter(
        Q(privileged=False) | Q(pk__in=_granted(user, queryset.model))
    )


# What each action on an account-scoped item asks of its account.
_ITEM_ACCOUNT_ACTION = {Action.VIEW: Action.VIEW, Action.CHANGE: Action.CHANGE}


def can_on_item(user: AnyUser, action: Action, item: AccountScoped) -> bool:
    """VIEW: may see the account (and, if privileged, holds an explicit grant).
    CHANGE: may also change the account, i.e. firm admin or on the account team.
    ValueError for any other action."""
    account_action = _ITEM_ACCOUNT_ACTION[_known(action, _ITEM_ACCOUNT_ACTION, "can_on_item")]
    if not _active(user):
        return False
    account = item.account
    if item.privileged and not has_privileged_grant(user, item):
        return False
    return can_on_account(user, account_action, account)


class Versioned(AccountScoped, Protocol):
    """A document: an account-scoped item whose uploader is known (None once removed)."""

    created_by: User | None


def _uploaded_by_client(document: Versioned) -> bool:
    """Whether the account's own people uploaded the document; one whose uploader is gone
    counts as the firm's, the stricter answer."""
    creator = document.created_by
    return creator is not None and not creator.is_firm_staff


def _clients_may_version() -> bool:
    return bool(
        Firm.objects.filter(singleton=True).values_list("clients_may_version", flat=True).first()
    )


def _can_add_version(user: AnyUser, document: Versioned) -> bool:
    if not can_on_item(user, Action.VIEW, document):
        return False
    if user.is_firm_staff or _uploaded_by_client(document):
        return True
    # The firm's own document: a client admin may, where the firm allows it; members never.
    is_admin = user.memberships.filter(
        account_id=document.account_id, role=ClientRole.ADMIN
    ).exists()
    return is_admin and _clients_may_version()


_DOCUMENT_CHECKS = {
    DocumentAction.VIEW: lambda user, document: can_on_item(user, Action.VIEW, document),
    DocumentAction.CHANGE: lambda user, document: can_on_item(user, Action.CHANGE, document),
    DocumentAction.ADD_VERSION: _can_add_version,
}


def can_on_document(user: AnyUser, action: DocumentAction, document: Versioned) -> bool:
    """VIEW and CHANGE as ``can_on_item``. ADD_VERSION: may see the document and either
    serves the account (firm staff), or the account's people uploaded it, or is a client
    admin of its account and the firm lets client admins version its documents
    (``Firm.clients_may_version``); client members never add versions to the firm's
    documents. ValueError for any other action."""
    check = _DOCUMENT_CHECKS[_known(action, _DOCUMENT_CHECKS, "can_on_document")]
    return _active(user) and check(user, document)


def has_privileged_grant(user: AnyUser, item: models.Model) -> bool:
    if not _active(user):
        return False
    codename = f"view_{item._meta.model_name}"
    # An explicit grant to this very user: not a group's, not a superuser's blanket access.
    return codename in _checker(user).get_user_perms(item)


def privileged_grant(item: models.Model, user: User) -> None:
    """Low-level: record an explicit grant. Callers are services that checked the actor."""
    assign_perm(f"view_{item._meta.model_name}", user, item)


def privileged_revoke(item: models.Model, user: User) -> None:
    remove_perm(f"view_{item._meta.model_name}", user, item)


_privileged_models: list[type[models.Model]] = []


def register_privileged_model(model: type[models.Model]) -> None:
    """Declare an account-scoped model whose rows may be privileged (each app, in ready()),
    so that losing an account also withdraws the grants on its items."""
    if model not in _privileged_models:
        _privileged_models.append(model)


def privileged_grants_withdraw(user: User, account: ClientAccount) -> int:
    """Withdraw every explicit grant ``user`` holds on the privileged items of ``account``,
    unless they can still see the account. A grant outliving the access it depended on would
    come back to life if the person were ever let in again. Returns how many were removed."""
    if can_on_account(user, Action.VIEW, account):
        return 0
    removed = 0
    for model in _privileged_models:
        item_pks = (
            model._default_manager.filter(account=account)
            .annotate(pk_text=Cast("pk", output_field=models.CharField()))
            .values("pk_text")
        )
        count, _ = UserObjectPermission.objects.filter(
            user=user,
            content_type=ContentType.objects.get_for_model(model),
            object_pk__in=Subquery(item_pks),
        ).delete()
        removed += count
    return removed


def privileged_items_granted(user: User, account: ClientAccount) -> list[models.Model]:
    """The privileged items of ``account`` (every registered kind) on which ``user`` holds an
    explicit grant."""
    found: list[models.Model] = []
    for model in _privileged_models:
        granted = UserObjectPermission.objects.filter(
            user=user, content_type=ContentType.objects.get_for_model(model)
        ).values_list("object_pk", flat=True)
        pks = [model._meta.pk.to_python(pk) for pk in granted]
        if pks:
            found += model._default_manager.filter(account=account, privileged=True, pk__in=pks)
    return found


def accounts_with_grants(user: User) -> set[int]:
    """The ids of the accounts on whose privileged items (every registered kind) ``user``
    holds an explicit grant: one query per kind."""
    found: set[int] = set()
    for model in _privileged_models:
        granted = UserObjectPermission.objects.filter(
            user=user, content_type=ContentType.objects.get_for_model(model)
        ).values_list("object_pk", flat=True)
        pks = [model._meta.pk.to_python(pk) for pk in granted]
        if pks:
            found |= set(
                model._default_manager.filter(pk__in=pks, privileged=True).values_list(
                    "account_id", flat=True
                )
            )
    return found


def privileged_grantees(item: models.Model) -> QuerySet:
    return get_users_with_perms(
        item,
        only_with_perms_in=[f"view_{item._meta.model_name}"],
        with_group_users=False,
        with_superusers=False,
    )


def item_for(
    user: AnyUser, queryset: QuerySet[M], public_id: str, action: Action = Action.VIEW
) -> M:
    """One account-scoped item by public id, or NotFound if missing or not permitted."""
    _known(action, _ITEM_ACCOUNT_ACTION, "item_for")
    if not is_public_id(public_id):
        raise NotFound
    try:
        item = queryset.select_related("account").get(public_id=public_id)
    except (queryset.model.DoesNotExist, ValueError, TypeError):
        raise NotFound from None
    if not can_on_item(user, action, item):
        raise NotFound
    return item


def matters_visible_to(
    user: AnyUser,
    account: ClientAccount | None = None,
    *,
    accounts: VisibleAccounts | None = None,
) -> QuerySet[Matter]:
    """The matters the user may see (of ``account`` only, if given); ``accounts`` as for
    ``visible_items``."""
    queryset = Matter.objects.all()
    if account is not None:
        queryset = queryset.filter(account=account)
    return visible_items(user, queryset, accounts=accounts)


def matter_for(user: AnyUser, public_id: str, action: Action = Action.VIEW) -> Matter:
    return item_for(user, Matter.objects.all(), public_id, action)


# --- tasks of a matter's plan ---------------------------------------------------------------


class TaskScoped(Protocol):
    """A task as these checks see it (``projects.models.Task``): the matter it belongs to,
    and whose it is (a person, or "the client": any of the account's own people)."""

    matter: Matter
    assignee_id: int | None
    for_client: bool


def _can_view_task(user: AnyUser, task: TaskScoped) -> bool:
    return can_on_item(user, Action.VIEW, task.matter)


def _can_change_task(user: AnyUser, task: TaskScoped) -> bool:
    return can_on_item(user, Action.CHANGE, task.matter)


def _can_tick_task(user: AnyUser, task: TaskScoped) -> bool:
    if not _can_view_task(user, task):
        return False
    if task.assignee_id is not None and task.assignee_id == user.pk:
        return True
    if task.for_client and user.memberships.filter(account_id=task.matter.account_id).exists():
        return True
    return can_on_item(user, Action.CHANGE, task.matter)


_TASK_CHECKS = {
    TaskAction.VIEW: _can_view_task,
    TaskAction.TICK: _can_tick_task,
    TaskAction.CHANGE: _can_change_task,
}


def can_on_task(user: AnyUser, action: TaskAction, task: TaskScoped) -> bool:
    """VIEW: may see the task's matter (a privileged one by an explicit grant). TICK (mark
    done or not done): may view it and is its assignee, or it is the client's and the user
    is one of the account's people, or serves the account (its team, or a firm admin).
    CHANGE (title, dates, assignee, milestone, kind): serves the account. ValueError for
    any other action."""
    check = _TASK_CHECKS[_known(action, _TASK_CHECKS, "can_on_task")]
    return _active(user) and check(user, task)


# --- approval requests ------------------------------------------------------------------------


class ApprovalScoped(Protocol):
    """An approval request as these checks see it (``approvals.models.ApprovalRequest``):
    its account, whether it is about a privileged document, the documents it is about and
    who its approvers are."""

    account: ClientAccount
    privileged: bool

    def documents_bound(self) -> Iterable[AccountScoped]: ...

    def approver_ids(self) -> Iterable[int]: ...


def _can_view_approval(user: AnyUser, approval: ApprovalScoped) -> bool:
    if not can_on_account(user, Action.VIEW, approval.account):
        return False
    if not approval.privileged:
        return True
    # Whoever reads a request sees what it is about: every privileged document of it must
    # be open to them by an explicit grant.
    return all(
        can_on_item(user, Action.VIEW, document)
        for document in approval.documents_bound()
        if document.privileged
    )


def _can_decide_approval(user: AnyUser, approval: ApprovalScoped) -> bool:
    return _can_view_approval(user, approval) and user.pk in set(approval.approver_ids())


def _can_withdraw_approval(user: AnyUser, approval: ApprovalScoped) -> bool:
    return _can_view_approval(user, approval) and can_on_account(
        user, Action.CHANGE, approval.account
    )


_APPROVAL_CHECKS = {
    ApprovalAction.VIEW: _can_view_approval,
    ApprovalAction.DECIDE: _can_decide_approval,
    ApprovalAction.WITHDRAW: _can_withdraw_approval,
}


def can_on_approval(user: AnyUser, action: ApprovalAction, approval: ApprovalScoped) -> bool:
    """VIEW: may see the account and, for a request about a privileged document, holds the
    grant on every privileged document of it. DECIDE: may view it and is one of its
    approvers. WITHDRAW: may view it and serves the account (its team, or a firm admin).
    ValueError for any other action (CREATE is ``can_create_approval``: there is no request
    yet)."""
    check = _APPROVAL_CHECKS[_known(action, _APPROVAL_CHECKS, "can_on_approval")]
    return _active(user) and check(user, approval)


def can_view_approval(user: AnyUser, approval: ApprovalScoped) -> bool:
    return can_on_approval(user, ApprovalAction.VIEW, approval)


def can_decide_approval(user: AnyUser, approval: ApprovalScoped) -> bool:
    return can_on_approval(user, ApprovalAction.DECIDE, approval)


def can_withdraw_approval(user: AnyUser, approval: ApprovalScoped) -> bool:
    return can_on_approval(user, ApprovalAction.WITHDRAW, approval)


def can_create_approval(
    user: AnyUser, account: ClientAccount, documents: Iterable[AccountScoped]
) -> bool:
    """Whether ``user`` may ask for approval of these documents of ``account``: they serve
    the account (its team, or a firm admin) and see every document (a privileged one by an
    explicit grant)."""
    if not (_active(user) and can_on_account(user, Action.CHANGE, account)):
        return False
    return all(
        document.account_id == account.pk and can_on_item(user, Action.VIEW, document)
        for document in documents
    )


def can_approve_documents(user: AnyUser, documents: Iterable[AccountScoped]) -> bool:
    """Whether ``user`` could be an approver of a request about these documents: active and
    seeing every one of them (a privileged one by an explicit grant)."""
    return _active(user) and all(can_on_item(user, Action.VIEW, document) for document in documents)


# --- signature requests ------------------------------------------------------------------------
#
# A signature request (``approvals.models.SignatureRequest``) answers the same questions as an
# approval request (``ApprovalScoped``): its one document is ``documents_bound()``, and
# everyone taking part is ``approver_ids()``.


def _can_void_signature(user: AnyUser, request: ApprovalScoped) -> bool:
    return _can_view_approval(user, request) and can_on_account(
        user, Action.CHANGE, request.account
    )


_SIGNATURE_CHECKS = {
    SignatureAction.VIEW: _can_view_approval,
    SignatureAction.ACT: _can_decide_approval,
    SignatureAction.VOID: _can_void_signature,
}


def can_on_signature(user: AnyUser, action: SignatureAction, request: ApprovalScoped) -> bool:
    """VIEW: may see the account and, for a privileged document, holds its grant. ACT: may
    view it and takes part in it (whether it is their turn, and as what, is the services'
    question). VOID: may view it and serves the account (its team, or a firm admin).
    ValueError for any other action (asking is ``can_create_approval`` on the document)."""
    check = _SIGNATURE_CHECKS[_known(action, _SIGNATURE_CHECKS, "can_on_signature")]
    return _active(user) and check(user, request)


# --- invoices, credit notes and proposals ---------------------------------------------------


class BillingScoped(Protocol):
    """An invoice or a proposal as these checks see it (``billing.models``): its account and
    whether it has been sent (``status`` other than "draft")."""

    account: ClientAccount
    status: str


def _is_client_admin(user: AnyUser, account: ClientAccount) -> bool:
    return user.memberships.filter(account_id=account.pk, role=ClientRole.ADMIN).exists()


def _can_view_billing(user: AnyUser, document: BillingScoped) -> bool:
    if can_on_account(user, Action.CHANGE, document.account):
        return True
    # The client's people see what was sent to them, never a draft.
    return document.status != "draft" and can_on_account(user, Action.VIEW, document.account)


def _can_change_billing(user: AnyUser, document: BillingScoped) -> bool:
    return can_on_account(user, Action.CHANGE, document.account)


def _can_accept_billing(user: AnyUser, document: BillingScoped) -> bool:
    return (
        document.status != "draft"
        and can_on_account(user, Action.VIEW, document.account)
        and _is_client_admin(user, document.account)
    )


_BILLING_CHECKS = {
    BillingAction.VIEW: _can_view_billing,
    BillingAction.CHANGE: _can_change_billing,
    BillingAction.ACCEPT: _can_accept_billing,
}


def can_on_billing(user: AnyUser, action: BillingAction, document: BillingScoped) -> bool:
    """VIEW: serves the account (its team, or a firm admin), or is one of the account's
    people and the document has been sent (clients never see drafts). CHANGE (edit a draft,
    send, void, record a payment, issue a credit note, withdraw): serves the account.
    ACCEPT (accept or decline a proposal): an admin of the client account, once sent.
    ValueError for any other action."""
    check = _BILLING_CHECKS[_known(action, _BILLING_CHECKS, "can_on_billing")]
    return _active(user) and check(user, document)


def can_bill_account(user: AnyUser, account: ClientAccount) -> bool:
    """Whether ``user`` may create invoices and proposals for ``account``: serves it."""
    return _active(user) and can_on_account(user, Action.CHANGE, account)


# --- support tickets ----------------------------------------------------------------------


class TicketScoped(Protocol):
    """A ticket as these checks see it (``support.models.Ticket``): its account and who
    opened it. Tickets are never privileged: everyone who sees the account sees them."""

    account: ClientAccount
    opened_by_id: int


def _can_view_ticket(user: AnyUser, ticket: TicketScoped) -> bool:
    return can_on_account(user, Action.VIEW, ticket.account)


def _can_change_ticket(user: AnyUser, ticket: TicketScoped) -> bool:
    return can_on_account(user, Action.CHANGE, ticket.account)


def _can_close_ticket(user: AnyUser, ticket: TicketScoped) -> bool:
    if _can_change_ticket(user, ticket):
        return True
    return ticket.opened_by_id == user.pk and _can_view_ticket(user, ticket)


_TICKET_CHECKS = {
    TicketAction.VIEW: _can_view_ticket,
    TicketAction.REPLY: _can_view_ticket,
    TicketAction.CHANGE: _can_change_ticket,
    TicketAction.CLOSE: _can_close_ticket,
}


def can_on_ticket(user: AnyUser, action: TicketAction, ticket: TicketScoped) -> bool:
    """VIEW and REPLY: may see the ticket's account (its client people, its team, the firm
    admins; staff off the team and other accounts' people may not). CHANGE (status,
    assignee, priority): serves the account (its team, or a firm admin). CLOSE (close or
    reopen): serves the account, or opened the ticket and still sees its account. Whether
    the ticket's state allows it is the services' question. ValueError for any other
    action."""
    check = _TICKET_CHECKS[_known(action, _TICKET_CHECKS, "can_on_ticket")]
    return _active(user) and check(user, ticket)


def can_open_ticket(user: AnyUser, account: ClientAccount) -> bool:
    """Whether ``user`` may open a ticket for ``account``: one of its client people, or
    serving it (its team, or a firm admin)."""
    if not _active(user):
        return False
    if can_on_account(user, Action.CHANGE, account):
        return True
    return user.memberships.filter(account_id=account.pk).exists() and can_on_account(
        user, Action.VIEW, account
    )
