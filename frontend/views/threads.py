"""Conversation pages."""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts import permissions
from accounts.errors import AtriumError, NotFound
from accounts.models import User
from accounts.permissions import Action
from accounts.selectors import person_json
from frontend import forms
from frontend.context_processors import request_vocab
from frontend.views.common import account_or_404, threads_by_account_id
from messaging import selectors as thread_selectors
from messaging import services as thread_services
from messaging import timeline
from messaging.notifications import thread_muted, thread_people

# --- conversations ----------------------------------------------------------------------

# How many of the newest messages a thread page starts with; older ones load on request.
FIRST_PAGE_OF_MESSAGES = 50


def _thread_groups(summaries: list[dict]) -> list[dict]:
    """The side list: every readable thread, grouped by account (accounts by name, threads
    most recently active first, as the selector returns them)."""
    groups = [
        {"account": threads[0]["account"], "threads": threads}
        for threads in threads_by_account_id(summaries).values()
    ]
    return sorted(groups, key=lambda g: g["account"]["name"].casefold())


def _thread_or_404(user: User, public_id: str):
    try:
        return thread_services.thread_for(user, public_id)
    except NotFound:
        raise Http404 from None


def _renderer_urls() -> list[str]:
    """The browser modules that draw the declared thread event types (each app's own), by
    their served names: hashed in production, so a new release is never drawn by a cached
    module of the one before."""
    return [static(path) for path in timeline.renderer_paths()]


def _me(user: User) -> dict:
    return person_json(user)


@login_required
@require_GET
@never_cache
def thread_index(request: HttpRequest) -> HttpResponse:
    summaries = thread_selectors.thread_summaries(request.user)
    return render(
        request,
        "frontend/threads.html",
        {
            "groups": _thread_groups(summaries),
            "chat": {"me": _me(request.user), "thread": None},
        },
    )


def conversation_context(request: HttpRequest, thread, *, last_read_seq: int) -> dict:
    """What ``frontend/_conversation.html`` and thread.js need to show ``thread`` live (the
    caller checked the person may read it): its newest messages as stored frames (the
    socket's own format), after which the page's script subscribes, so that nothing between
    the two is lost or doubled; its people, the mute switch, and its matter if visible."""
    rows = thread_selectors.events_before(thread, thread.last_seq + 1, FIRST_PAGE_OF_MESSAGES + 1)
    matter = thread.matter
    if matter is not None and not permissions.can_on_item(request.user, Action.VIEW, matter):
        matter = None
    # Reads for this page only, of a thread the person may read (checked above).
    muted = thread_muted(request.user, thread)
    people = sorted(thread_people(thread), key=lambda p: (p.name.casefold(), p.pk))
    return {
        "thread": thread,
        "matter": matter,
        "muted": muted,
        "people": people,
        "ticket": ticket_of_thread(thread),
        "vault_max_bytes": settings.ATRIUM_VAULT_MAX_BYTES,
        "renderers": _renderer_urls(),
        "chat": {
            "me": _me(request.user),
            "thread": {"id": thread.public_id, "title": thread.title},
            "muted": muted,
            "lastSeq": thread.last_seq,
            "lastReadSeq": last_read_seq,
            "hasMore": len(rows) > FIRST_PAGE_OF_MESSAGES,
            "events": [json.loads(frame) for _, frame in rows[-FIRST_PAGE_OF_MESSAGES:]],
        },
    }


def ticket_of_thread(thread):
    """The ticket whose conversation ``thread`` is, or None (its page links to the ticket)."""
    try:
        return thread.ticket
    except ObjectDoesNotExist:
        return None


@login_required
@require_GET
@never_cache
def thread_page(request: HttpRequest, thread_id: str) -> HttpResponse:
    thread = _thread_or_404(request.user, thread_id)
    summaries = thread_selectors.thread_summaries(request.user)
    mine = next((s for s in summaries if s["id"] == thread.public_id), None)
    return render(
        request,
        "frontend/thread.html",
        {
            **conversation_context(
                request, thread, last_read_seq=mine["last_read_seq"] if mine else thread.last_seq
            ),
            "groups": _thread_groups(summaries),
        },
    )


@login_required
@require_POST
def thread_create(request: HttpRequest, account_id: str) -> HttpResponse:
    # Only the account team and firm admins open threads; anyone else sees nothing here.
    account = account_or_404(request.user, account_id, Action.CHANGE)
    form = forms.ThreadForm(
        request.POST, matters=list(permissions.matters_visible_to(request.user, account))
    )
    if not form.is_valid():
        if "title" in form.errors:
            messages.error(request, "A conversation needs a title.")
        else:
            word = request_vocab(request).matter_lower
            messages.error(request, f"Choose a {word} of this client from the list.")
        return redirect("frontend:account", account_id=account.public_id)
    try:
        thread = thread_services.thread_create(
            actor=request.user,
            account=account,
            title=form.cleaned_data["title"],
            matter=form.cleaned_data["matter"],
            privileged=form.cleaned_data["privileged"],
        )
    except NotFound:
        raise Http404 from None
    except AtriumError as error:
        messages.error(request, error.message)
        return redirect("frontend:account", account_id=account.public_id)
    return redirect("frontend:thread", thread_id=thread.public_id)
