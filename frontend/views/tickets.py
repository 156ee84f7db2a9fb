"""Support ticket pages (docs/support.md, "Pages"): the staff's queue and a client's list
(``/tickets/``), opening a ticket (``/tickets/new/``), and a ticket's page: its state and
SLA above its conversation, live (``/tickets/<id>/``).

Thin: the rules are the support app's (``support.services``, ``support.selectors``); who may
not see a ticket or its account gets 404, a refused change comes back at its field with 400.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.timesince import timesince, timeuntil
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import permissions
from accounts.errors import AtriumError, Invalid, NotFound
from accounts.http import refuse_nul
from accounts.models import ClientAccount, User
from accounts.permissions import TicketAction
from frontend.support_forms import NewTicketForm, TicketChangeForm, show_error
from frontend.views.common import account_or_404
from frontend.views.threads import conversation_context
from messaging import selectors as thread_selectors
from support import routing
from support import selectors as ticket_selectors
from support import services as ticket_services
from support import settings as support_settings
from support.models import DONE_STATUSES, Priority, Ticket, TicketStatus
from support.services.tickets import TRANSITIONS

PAGE_SIZE = 25
# The staff's tabs: the selectors' views, and every ticket they see.
VIEWS = (
    ("mine", "Mine"),
    ("team", "My team's"),
    ("unassigned", "Unassigned"),
    ("breaching", "Breaching soon"),
    ("all", "All"),
)


# --- SLA, as the pages say it ------------------------------------------------------------------


@dataclass(frozen=True)
class Due:
    """One target as a chip: its tone, its words, and the moment it is about (or None)."""

    tone: str
    words: str
    at: datetime | None = None


def _due_words(
    due_at: datetime | None, *, now: datetime, warn: timedelta, paused: bool
) -> Due | None:
    if paused:
        return Due("neutral", "Paused: waiting on the client")
    if due_at is None:
        return None
    if due_at <= now:
        return Due("danger", f"Overdue by {timesince(due_at, now)}", due_at)
    tone = "warn" if due_at <= now + warn else "neutral"
    return Due(tone, f"Due in {timeuntil(due_at, now)}", due_at)


def row_due(ticket: Ticket, *, now: datetime, warn: timedelta) -> Due | None:
    """The next target of a list row: the first response until it is given, then the
    resolution; nothing for a finished ticket or one without targets."""
    if ticket.status in DONE_STATUSES:
        return None
    if ticket.first_response_at is None and ticket.first_response_target is not None:
        if ticket.first_response_breached:
            return Due("danger", "First response missed")
        due = _due_words(
            ticket.first_response_due_at,
            now=now,
            warn=warn,
            paused=ticket.status == TicketStatus.WAITING_ON_CLIENT,
        )
        return Due(due.tone, f"First response: {due.words.lower()}", due.at) if due else None
    if ticket.resolution_target is None:
        return None
    if ticket.resolution_breached:
        return Due("danger", "Resolution missed")
    due = _due_words(
        ticket.resolution_due_at,
        now=now,
        warn=warn,
        paused=ticket.status == TicketStatus.WAITING_ON_CLIENT,
    )
    return Due(due.tone, f"Resolution: {due.words.lower()}", due.at) if due else None


def target_due(
    ticket: Ticket, kind: str, *, now: datetime, warn: timedelta
) -> tuple[str, Due | None]:
    """A target of the ticket's page: its name and its state (met, missed, due, paused)."""
    target = getattr(ticket, f"{kind}_target")
    reached = ticket.first_response_at if kind == "first_response" else ticket.resolved_at
    breached = getattr(ticket, f"{kind}_breached") or ticket_selectors.over(
        target, getattr(ticket, f"{kind}_seconds")
    )
    if target is None:
        return kind, Due("neutral", "No target")
    if breached:
        return kind, Due("danger", "Missed", reached)
    if reached is not None:
        return kind, Due("ok", "Met", reached)
    if ticket.status == TicketStatus.CLOSED:
        return kind, Due("neutral", "Stopped: closed")
    return kind, _due_words(
        getattr(ticket, f"{kind}_due_at"),
        now=now,
        warn=warn,
        paused=ticket.status == TicketStatus.WAITING_ON_CLIENT,
    )


def _warn() -> timedelta:
    return timedelta(minutes=support_settings.current().warn_minutes)


def _rows(tickets: list[Ticket]) -> list[dict]:
    now, warn = timezone.now(), _warn()
    return [{"ticket": t, "due": row_due(t, now=now, warn=warn)} for t in tickets]


# --- lists -----------------------------------------------------------------------------------


def _page(request: HttpRequest, read) -> ticket_selectors.TicketsPage:
    try:
        return read(request.GET.get("cursor") or None)
    except Invalid as error:
        if "cursor" not in error.fields:
            raise Http404 from None
        messages.error(request, "That link to older tickets is not valid; here are the newest.")
        return read(None)


def _older_url(request: HttpRequest, cursor: str | None) -> str | None:
    if cursor is None:
        return None
    query = {k: v for k, v in request.GET.items() if k != "cursor" and v}
    return f"?{urlencode({**query, 'cursor': cursor})}"


@login_required
@require_GET
@never_cache
def tickets_index(request: HttpRequest) -> HttpResponse:
    if request.user.is_firm_staff:
        return _staff_queue(request)
    return _client_list(request)


def _staff_queue(request: HttpRequest) -> HttpResponse:
    """The staff's queue: a tab per view with its count, filters by status and account, a
    page of tickets at a time (constant queries in the number of tickets)."""
    user = request.user
    view = request.GET.get("view") or "mine"
    if view not in dict(VIEWS):
        raise Http404
    status = request.GET.get("status") or None
    if status is not None and status not in TicketStatus.values:
        raise Http404
    account = None
    if request.GET.get("account"):
        account = account_or_404(user, request.GET["account"])
    page = _page(
        request,
        lambda cursor: ticket_selectors.tickets_page(
            user,
            account=account,
            status=status,
            view=None if view == "all" else view,
            cursor=cursor,
            limit=PAGE_SIZE,
        ),
    )
    counts = ticket_selectors.queue_counts(user)
    kept = {k: v for k, v in (("status", status), ("account", request.GET.get("account"))) if v}
    return render(
        request,
        "frontend/tickets.html",
        {
            "staff": True,
            "tabs": [
                {
                    "value": value,
                    "label": label,
                    "count": counts.get(value),
                    "chosen": value == view,
                    "url": f"?{urlencode({'view': value, **kept})}",
                }
                for value, label in VIEWS
            ],
            "view": view,
            "status": status or "",
            "statuses": TicketStatus.choices,
            "account": account,
            "accounts": list(permissions.accounts_visible_to(user).order_by("name")),
            "rows": _rows(page.rows),
            "older": _older_url(request, page.next),
        },
    )


def _client_tickets(
    user: User, account: ClientAccount, *, done: bool, cursor: object
) -> tuple[list, object]:
    """A page of one account's tickets, unfinished or finished ones, newest first, with what
    the rows show loaded (the caller checked the account is visible)."""
    page = ticket_selectors.tickets_page(
        user, account=account, done=done, cursor=cursor, limit=PAGE_SIZE
    )
    return page.rows, page.next


def _client_list(request: HttpRequest) -> HttpResponse:
    """A client's tickets: their account's (the one chosen, when they are in several), the
    unfinished ones first, then the resolved and closed ones a page at a time."""
    accounts = list(permissions.accounts_visible_to(request.user).order_by("name"))
    if request.GET.get("account"):
        account = account_or_404(request.user, request.GET["account"])
    elif accounts:
        account = accounts[0]
    else:
        account = None
    active, done, older = [], [], None
    if account is not None:
        active, _ = _client_tickets(request.user, account, done=False, cursor=None)
        try:
            done, older = _client_tickets(
                request.user, account, done=True, cursor=request.GET.get("cursor")
            )
        except Invalid:
            messages.error(request, "That link to older tickets is not valid; here are the newest.")
            done, older = _client_tickets(request.user, account, done=True, cursor=None)
    return render(
        request,
        "frontend/tickets.html",
        {
            "staff": False,
            "account": account,
            "accounts": accounts,
            "can_open": account is not None and permissions.can_open_ticket(request.user, account),
            "active_rows": _rows(active),
            "rows": _rows(done),
            "older": _older_url(request, older),
        },
    )


# --- opening a ticket -----------------------------------------------------------------------


def _openable_accounts(user: User) -> list[ClientAccount]:
    return [
        a
        for a in permissions.accounts_visible_to(user).order_by("name")
        if permissions.can_open_ticket(user, a)
    ]


@login_required
@require_http_methods(["GET", "POST"])
def ticket_new(request: HttpRequest) -> HttpResponse:
    """Open a ticket: the account (asked first when the person may open tickets for several),
    a category offered to it, subject, message, priority. Files are added by the page's script
    once the ticket exists, through the vault into the ticket's conversation, as the thread
    page shares them. A script asking for JSON gets the new ticket (201) instead of a
    redirect."""
    data = request.POST if request.method == "POST" else request.GET
    chosen = data.get("account") or ""
    accounts = _openable_accounts(request.user) if not request.user.is_firm_staff else []
    if chosen:
        account = account_or_404(request.user, chosen)
        if not permissions.can_open_ticket(request.user, account):
            raise Http404
    elif len(accounts) == 1:
        account = accounts[0]
    else:
        account = None
    if account is None:
        if request.user.is_firm_staff or not accounts:
            raise Http404  # staff open a ticket from the client's page; clients of no account
        return render(request, "frontend/ticket_new.html", {"accounts": accounts, "form": None})
    categories = ticket_selectors.categories_for(request.user, account)
    form = NewTicketForm(
        request.POST if request.method == "POST" else None,
        categories=categories,
        initial={"priority": Priority.NORMAL},
    )
    if request.method == "POST":
        try:
            refuse_nul(request.POST)
            if form.is_valid():
                ticket = ticket_services.ticket_open(
                    actor=request.user, account=account, **form.fields_for_service()
                )
                if request.headers.get("Accept") == "application/json":
                    return JsonResponse(ticket_selectors.ticket_json(ticket), status=201)
                messages.success(request, "Your ticket is open. Replies arrive here.")
                return redirect("frontend:ticket", ticket_id=ticket.public_id)
        except NotFound:
            raise Http404 from None
        except AtriumError as error:
            show_error(form, error)
    return render(
        request,
        "frontend/ticket_new.html",
        {
            "account": account,
            "accounts": accounts,
            "form": form,
            "categories": categories,
            "vault_max_bytes": settings.ATRIUM_VAULT_MAX_BYTES,
        },
        status=400 if request.method == "POST" else 200,
    )


# --- a ticket --------------------------------------------------------------------------------


def _ticket_or_404(user: User, ticket_id: str) -> Ticket:
    try:
        return ticket_selectors.ticket_for(user, ticket_id)
    except NotFound:
        raise Http404 from None


def _change_form(request: HttpRequest, ticket: Ticket, data=None) -> TicketChangeForm | None:
    if not permissions.can_on_ticket(request.user, TicketAction.CHANGE, ticket):
        return None
    statuses = [ticket.status, *sorted(TRANSITIONS[ticket.status])]
    return TicketChangeForm(
        data,
        statuses=[(s, TicketStatus(s).label) for s in TicketStatus.values if s in statuses],
        assignees=routing.takers(ticket.account),
        initial={
            "status": ticket.status,
            "priority": ticket.priority,
            "assignee": ticket.assignee.public_id if ticket.assignee_id else "",
        },
    )


def _client_actions(request: HttpRequest, ticket: Ticket) -> list[dict]:
    """A client's buttons on their own ticket: close it, or reopen it once resolved."""
    if permissions.can_on_ticket(request.user, TicketAction.CHANGE, ticket):
        return []
    if not permissions.can_on_ticket(request.user, TicketAction.CLOSE, ticket):
        return []
    if ticket.status == TicketStatus.CLOSED:
        return []
    actions = []
    if ticket.status == TicketStatus.RESOLVED:
        actions.append({"value": "reopen", "label": "Reopen the ticket", "danger": False})
    actions.append({"value": "close", "label": "Close the ticket", "danger": True})
    return actions


def _ticket_response(
    request: HttpRequest, ticket: Ticket, *, form=None, status: int = 200
) -> HttpResponse:
    now, warn = timezone.now(), _warn()
    return render(
        request,
        "frontend/ticket.html",
        {
            **conversation_context(
                request,
                ticket.thread,
                last_read_seq=thread_selectors.read_position(request.user, ticket.thread),
            ),
            "ticket_page": True,
            "ticket": ticket,
            "targets": [
                target_due(ticket, kind, now=now, warn=warn)
                for kind in ("first_response", "resolution")
            ],
            "change_form": form or _change_form(request, ticket),
            "form": form,  # a refused change, as every page names its form
            "client_actions": _client_actions(request, ticket),
        },
        status=status,
    )


@login_required
@require_GET
@never_cache
def ticket_page(request: HttpRequest, ticket_id: str) -> HttpResponse:
    return _ticket_response(request, _ticket_or_404(request.user, ticket_id))


@login_required
@require_POST
def ticket_change(request: HttpRequest, ticket_id: str) -> HttpResponse:
    """Staff change the status, assignee and priority together; a client closes or reopens
    their own ticket (``action``)."""
    ticket = _ticket_or_404(request.user, ticket_id)
    back = redirect("frontend:ticket", ticket_id=ticket.public_id)
    action = request.POST.get("action", "")
    if action in ("close", "reopen"):
        try:
            ticket_services.ticket_update(
                actor=request.user,
                ticket=ticket,
                status=TicketStatus.CLOSED if action == "close" else TicketStatus.WAITING_ON_FIRM,
            )
        except AtriumError as error:
            messages.error(request, error.message)
            return _ticket_response(request, ticket, status=error.status)
        messages.success(
            request, "The ticket is closed." if action == "close" else "The ticket is open again."
        )
        return back
    form = _change_form(request, ticket, request.POST)
    if form is None:
        raise Http404
    try:
        refuse_nul(request.POST)
        if form.is_valid():
            ticket_services.ticket_update(
                actor=request.user, ticket=ticket, **form.fields_for_service()
            )
            messages.success(request, "The ticket is saved.")
            return back
    except AtriumError as error:
        show_error(form, error)
    return _ticket_response(request, ticket, form=form, status=400)
