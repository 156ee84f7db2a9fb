"""The firm's support settings (firm admins; anyone else 404, like the other firm settings):
categories and their SLA targets, queues and their members, routing rules in order, and the
calendar with the reopen window and the warning lead. Each form calls one service
(``support.services.categories``, ``queues``, ``settings``) and shows its refusal on the
field it names, with status 400."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from accounts import permissions
from accounts.errors import AtriumError, NotFound
from accounts.http import refuse_nul
from frontend.support_forms import (
    CalendarForm,
    CategoryForm,
    QueueForm,
    RuleForm,
    SlaTargetsForm,
    minutes_words,
    show_error,
)
from support.models import Priority
from support.services import categories as category_services
from support.services import queues as queue_services
from support.services import settings as settings_services

MOVES = {"up": -1, "down": 1}


def _admin_or_404(request: HttpRequest) -> None:
    if not permissions.can_manage_firm(request.user):
        raise Http404


def _found_or_404(getter, request: HttpRequest, public_id: str):
    try:
        return getter(actor=request.user, public_id=public_id)
    except NotFound:
        raise Http404 from None


def _accounts(request: HttpRequest) -> list:
    return list(permissions.accounts_visible_to(request.user).order_by("name"))


_REFUSED = object()


def _submit(request: HttpRequest, form, save):
    """Read a posted form and hand it to ``save`` (a service call): its answer, or
    ``_REFUSED`` with the errors on the form."""
    try:
        refuse_nul(request.POST)
        if form.is_valid():
            return save()
    except AtriumError as error:
        show_error(form, error)
    return _REFUSED


def _confirm(request: HttpRequest, *, title: str, text: str, button: str, back: str):
    """Ask before a deletion: the same form again, with ``confirm``."""
    return render(
        request,
        "frontend/confirm.html",
        {
            "title": title,
            "text": text,
            "button": button,
            "danger": True,
            "fields": [(k, v) for k, v in request.POST.items() if k != "csrfmiddlewaretoken"],
            "back": back,
        },
    )


def _render(request: HttpRequest, template: str, context: dict, *, failed: bool) -> HttpResponse:
    return render(
        request,
        f"frontend/support_settings/{template}",
        {"section": "support", **context},
        status=400 if failed else 200,
    )


# --- categories and SLA targets --------------------------------------------------------------


def _target_summary(category) -> list[dict]:
    by_priority = {t.priority: t for t in category.sla_targets.all()}
    return [
        {
            "label": label,
            "first_response": minutes_words(
                getattr(by_priority.get(v), "first_response_minutes", None)
            ),
            "resolution": minutes_words(getattr(by_priority.get(v), "resolution_minutes", None)),
        }
        for v, label in Priority.choices
    ]


@login_required
@require_http_methods(["GET", "POST"])
def support_settings(request: HttpRequest) -> HttpResponse:
    """The categories in the order clients see them, each with its SLA targets, and a form
    for a new one."""
    _admin_or_404(request)
    accounts = _accounts(request)
    form = CategoryForm(request.POST or None, accounts=accounts)
    if request.method == "POST":

        def save():
            data = form.cleaned_data
            by_id = {a.public_id: a for a in accounts}
            return category_services.category_create(
                actor=request.user,
                name=data["name"],
                description=data["description"],
                account=by_id.get(data["account"]) if data["account"] else None,
                is_status=data["is_status"],
            )

        made = _submit(request, form, save)
        if made is not _REFUSED:
            messages.success(request, f"“{made.name}” is added; set its SLA targets here.")
            return redirect("frontend:support_category", category_id=made.public_id)
    rows = category_services.categories_for_settings(actor=request.user)
    active = [c for c in rows if not c.archived]
    return _render(
        request,
        "categories.html",
        {
            "categories": [
                {
                    "category": c,
                    "targets": _target_summary(c),
                    "first": c is active[0] if active and not c.archived else False,
                    "last": c is active[-1] if active and not c.archived else False,
                }
                for c in rows
            ],
            "form": form,
        },
        failed=request.method == "POST",
    )


@login_required
@require_http_methods(["GET", "POST"])
def support_category(request: HttpRequest, category_id: str) -> HttpResponse:
    """One category: its name, description and status flag (``part=details``), and its SLA
    targets by priority (``part=targets``)."""
    _admin_or_404(request)
    category = _found_or_404(category_services.category_get, request, category_id)
    part = request.POST.get("part") if request.method == "POST" else None
    details = CategoryForm(
        request.POST if part == "details" else None,
        with_account=False,
        initial={
            "name": category.name,
            "description": category.description,
            "is_status": category.is_status,
        },
    )
    targets = SlaTargetsForm(
        request.POST if part == "targets" else None,
        initial=SlaTargetsForm.initial_from(category.sla_targets.all()),
    )
    if part == "details":

        def save():
            return category_services.category_update(
                actor=request.user, category=category, **details.cleaned_data
            )

        if _submit(request, details, save) is not _REFUSED:
            messages.success(request, "The category is saved.")
            return redirect("frontend:support_category", category_id=category.public_id)
    elif part == "targets":

        def save():
            return category_services.sla_targets_set(
                actor=request.user, category=category, targets=targets.targets()
            )

        if _submit(request, targets, save) is not _REFUSED:
            messages.success(
                request, "The SLA targets are saved. Tickets opened from now on follow them."
            )
            return redirect("frontend:support_category", category_id=category.public_id)
    elif request.method == "POST":
        raise Http404
    return _render(
        request,
        "category.html",
        {"category": category, "form": details, "targets": targets},
        failed=part is not None,
    )


@login_required
@require_POST
def support_category_action(request: HttpRequest, category_id: str) -> HttpResponse:
    """Move a category up or down, archive it or bring it back."""
    _admin_or_404(request)
    category = _found_or_404(category_services.category_get, request, category_id)
    action = request.POST.get("action", "")
    try:
        if action in MOVES:
            category_services.category_move(
                actor=request.user, category=category, offset=MOVES[action]
            )
        elif action in ("archive", "restore"):
            category_services.category_archive(
                actor=request.user, category=category, archived=action == "archive"
            )
            messages.success(
                request,
                f"“{category.name}” is archived: no new tickets in it."
                if action == "archive"
                else f"“{category.name}” is offered again.",
            )
        else:
            return HttpResponse("Unknown action.", status=400, content_type="text/plain")
    except AtriumError as error:
        messages.error(request, error.message)
    return redirect("frontend:support_settings")


# --- queues ----------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def support_queues(request: HttpRequest) -> HttpResponse:
    _admin_or_404(request)
    staff = queue_services.staff_choices(actor=request.user)
    form = QueueForm(request.POST or None, staff=staff)
    if request.method == "POST":

        def save():
            return queue_services.queue_create(
                actor=request.user, name=form.cleaned_data["name"], members=form.chosen_members()
            )

        made = _submit(request, form, save)
        if made is not _REFUSED:
            messages.success(request, f"The queue “{made.name}” is added.")
            return redirect("frontend:support_queues")
    return _render(
        request,
        "queues.html",
        {"queues": queue_services.queues_for_settings(actor=request.user), "form": form},
        failed=request.method == "POST",
    )


@login_required
@require_http_methods(["GET", "POST"])
def support_queue(request: HttpRequest, queue_id: str) -> HttpResponse:
    """Rename a queue and choose its members; delete it (asked first)."""
    _admin_or_404(request)
    queue = _found_or_404(queue_services.queue_get, request, queue_id)
    staff = queue_services.staff_choices(actor=request.user)
    if request.method == "POST" and request.POST.get("action") == "delete":
        if request.POST.get("confirm") != "on":
            return _confirm(
                request,
                title=f"Delete the queue “{queue.name}”?",
                text="Its tickets keep whoever has them. Rules that send tickets to it must be "
                "changed first.",
                button="Delete the queue",
                back=reverse("frontend:support_queue", args=[queue.public_id]),
            )
        try:
            queue_services.queue_delete(actor=request.user, queue=queue)
        except AtriumError as error:
            messages.error(request, error.message)
            return redirect("frontend:support_queue", queue_id=queue.public_id)
        messages.success(request, f"The queue “{queue.name}” is deleted.")
        return redirect("frontend:support_queues")
    form = QueueForm(
        request.POST or None,
        staff=staff,
        initial={"name": queue.name, "members": [m.public_id for m in queue.members.all()]},
    )
    if request.method == "POST":

        def save():
            queue_services.queue_rename(
                actor=request.user, queue=queue, name=form.cleaned_data["name"]
            )
            return queue_services.queue_members_set(
                actor=request.user, queue=queue, members=form.chosen_members()
            )

        if _submit(request, form, save) is not _REFUSED:
            messages.success(request, "The queue is saved.")
            return redirect("frontend:support_queues")
    return _render(
        request, "queue.html", {"queue": queue, "form": form}, failed=request.method == "POST"
    )


# --- routing rules ---------------------------------------------------------------------------


def _rule_form(request: HttpRequest, data=None, **kwargs) -> RuleForm:
    return RuleForm(
        data,
        categories=[
            c
            for c in category_services.categories_for_settings(actor=request.user)
            if not c.archived
        ],
        accounts=_accounts(request),
        staff=queue_services.staff_choices(actor=request.user),
        queues=queue_services.queues_for_settings(actor=request.user),
        **kwargs,
    )


@login_required
@require_http_methods(["GET", "POST"])
def support_rules(request: HttpRequest) -> HttpResponse:
    """The routing rules in the order they are tried (the first that matches wins; with none,
    the account's team takes the ticket), and a form for a new one."""
    _admin_or_404(request)
    form = _rule_form(request, request.POST or None)
    if request.method == "POST":

        def save():
            return queue_services.rule_create(actor=request.user, **form.fields_for_service())

        made = _submit(request, form, save)
        if made is not _REFUSED:
            messages.success(request, f"The rule “{made.name}” is added, tried last.")
            return redirect("frontend:support_rules")
    rules = queue_services.rules_for_settings(actor=request.user)
    return _render(
        request,
        "rules.html",
        {
            "rules": [
                {
                    "rule": r,
                    "keywords": r.keywords.splitlines(),
                    "first": i == 0,
                    "last": i == len(rules) - 1,
                }
                for i, r in enumerate(rules)
            ],
            "form": form,
        },
        failed=request.method == "POST",
    )


@login_required
@require_http_methods(["GET", "POST"])
def support_rule(request: HttpRequest, rule_id: str) -> HttpResponse:
    _admin_or_404(request)
    rule = _found_or_404(queue_services.rule_get, request, rule_id)
    form = _rule_form(request, request.POST or None, initial=RuleForm.initial_from(rule))
    if request.method == "POST":

        def save():
            return queue_services.rule_update(
                actor=request.user, rule=rule, **form.fields_for_service()
            )

        if _submit(request, form, save) is not _REFUSED:
            messages.success(request, f"The rule “{form.cleaned_data['name']}” is saved.")
            return redirect("frontend:support_rules")
    return _render(
        request, "rule.html", {"rule": rule, "form": form}, failed=request.method == "POST"
    )


@login_required
@require_POST
def support_rule_action(request: HttpRequest, rule_id: str) -> HttpResponse:
    """Move a rule up or down, or delete it (asked first)."""
    _admin_or_404(request)
    rule = _found_or_404(queue_services.rule_get, request, rule_id)
    action = request.POST.get("action", "")
    if action in MOVES:
        queue_services.rule_move(actor=request.user, rule=rule, offset=MOVES[action])
    elif action == "delete":
        if request.POST.get("confirm") != "on":
            return _confirm(
                request,
                title=f"Delete the rule “{rule.name}”?",
                text="Tickets it sent keep whoever has them; new ones go by the other rules.",
                button="Delete the rule",
                back=reverse("frontend:support_rules"),
            )
        queue_services.rule_delete(actor=request.user, rule=rule)
        messages.success(request, f"The rule “{rule.name}” is deleted.")
    else:
        return HttpResponse("Unknown action.", status=400, content_type="text/plain")
    return redirect("frontend:support_rules")


# --- the calendar ----------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def support_hours(request: HttpRequest) -> HttpResponse:
    """Business hours by weekday and holidays (the SLA clock counts only those), the reopen
    window and the warning lead."""
    _admin_or_404(request)
    found = settings_services.settings_for_edit(actor=request.user)
    form = CalendarForm(request.POST or None, initial=CalendarForm.initial_from(found))
    if request.method == "POST":

        def save():
            return settings_services.support_settings_update(
                actor=request.user, **form.fields_for_service()
            )

        if _submit(request, form, save) is not _REFUSED:
            messages.success(request, "The hours are saved. SLA clocks count by them from now on.")
            return redirect("frontend:support_hours")
    return _render(request, "hours.html", {"form": form}, failed=request.method == "POST")
