"""The client's status page (their home), the staff preview of it, and ticking a task.

Thin: what the page shows comes from ``projects.selectors.status``, every write from the
projects app's services, every rule from ``accounts.permissions``."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts.errors import AtriumError, Forbidden, NotFound
from accounts.http import refuse_nul
from accounts.models import Membership, User
from accounts.permissions import Action
from accounts.selectors import user_by_public_id
from accounts.time_zones import zone_of
from approvals import selectors as approval_selectors
from approvals import signature_selectors
from frontend.views.common import account_or_404, decorated_approval
from messaging import selectors as thread_selectors
from projects import services as plan_services
from projects.selectors import status as status_selectors
from projects.services import visits
from vault import selectors as vault_selectors

# What the status page lists besides the plan: requests for the person's approval, unread
# conversations and the newest documents, each bounded.
WAITING_APPROVALS = 5
NEW_THREADS = 5
NEW_DOCUMENTS = 5
# Documents waiting for the person's signature: the "To sign" panel.
WAITING_SIGNATURES = 5


def _prefix(name: str, sample: str) -> str:
    return reverse(name, args=[sample]).split(sample)[0]


def _status_context(page: status_selectors.StatusPage, approvals: list[dict]) -> dict:
    return {
        "page": page,
        "approvals": [decorated_approval(row) for row in approvals[:WAITING_APPROVALS]],
        "more_approvals": len(approvals) > WAITING_APPROVALS,
        # Rows name their links after these prefixes: no reverse() per row.
        "clients_url": _prefix("frontend:account", "acc_"),
        "matters_url": _prefix("frontend:matter", "mat_"),
        "tasks_url": _prefix("frontend:task_tick", "tsk_"),
        "approval_url": _prefix("frontend:approval", "apr_"),
    }


def client_home(request: HttpRequest) -> HttpResponse:
    """A client's home: where every matter stands, what waits on them (with the action right
    there), what changed since their last visit, and who serves them."""
    user = request.user
    since = visits.status_visit(user=user, now=timezone.now())
    page = status_selectors.client_status(user, today=timezone.localdate(), since=since)
    # The accounts the page read are handed on: permissions are asked once per request.
    visible = page.visible
    approvals = approval_selectors.awaiting(
        user, limit=WAITING_APPROVALS + 1, accounts=visible
    ).rows
    context = _status_context(page, approvals)
    context["unread_threads"] = thread_selectors.unread_threads(
        user, limit=NEW_THREADS, accounts=visible
    )
    context["new_documents"] = vault_selectors.recent_documents(
        user, limit=NEW_DOCUMENTS, accounts=visible
    )
    context["to_sign"] = signature_selectors.waiting_for(user, limit=WAITING_SIGNATURES)
    return render(request, "frontend/status.html", context)


def _client_of(account, public_id: str) -> User:
    person = user_by_public_id(public_id, active_only=True)
    if person is None or person.is_firm_staff:
        raise Http404
    if not Membership.objects.filter(account=account, user=person).exists():
        raise Http404
    return person


@login_required
@require_GET
@never_cache
def status_preview(request: HttpRequest, account_id: str, user_id: str) -> HttpResponse:
    """What one client user of the account sees on their status page, for the people who
    serve the account: computed as that person, in their time zone, read only, limited to
    this account, and without any privileged matter or request the viewer may not see.
    Anyone else, and a person who is not the account's, gets 404."""
    account = account_or_404(request.user, account_id, Action.CHANGE)
    person = _client_of(account, user_id)
    with timezone.override(zone_of(person) or timezone.get_default_timezone()):
        page = status_selectors.client_status(
            person,
            today=timezone.localdate(),
            since=status_selectors.previous_visit(person),
            account=account,
            seen_by=request.user,
        )
        # A request about privileged documents stays with those granted them.
        approvals = [
            row
            for row in approval_selectors.awaiting(person, limit=WAITING_APPROVALS + 1).rows
            if row["account"] == account.public_id and not row["privileged"]
        ]
        context = _status_context(page, approvals)
        context.update({"preview": True, "person": person, "account": account})
        return render(request, "frontend/status.html", context)


def _next_or_home(request: HttpRequest) -> str:
    """``next`` if it is a path of this site, else the home page."""
    target = request.POST.get("next", "")
    if (
        target.startswith("/")
        and "\x00" not in target
        and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return target
    return reverse("frontend:home")


@login_required
@require_POST
def task_tick(request: HttpRequest, task_id: str) -> HttpResponse:
    """Mark a task done (``done`` = "1") or not done ("0"), then go back to ``next``."""
    try:
        task = plan_services.task_for(request.user, task_id)
    except NotFound:
        raise Http404 from None
    done = request.POST.get("done", "")
    try:
        refuse_nul(request.POST)
        if done not in ("0", "1"):
            messages.error(request, "Choose whether the task is done.")
        else:
            plan_services.task_set_done(actor=request.user, task=task, done=done == "1")
            messages.success(
                request,
                f"“{task.title}” is done." if done == "1" else f"“{task.title}” is open again.",
            )
    except Forbidden as error:
        raise PermissionDenied(error.message) from None
    except AtriumError as error:
        messages.error(request, error.message)
    return HttpResponseRedirect(_next_or_home(request))
