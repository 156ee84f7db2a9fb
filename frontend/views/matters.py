"""A matter's pages: opening one (from a checklist template if chosen), its page with the
plan's timeline and task list, and the plan's dates and owner. The plan's milestones and
tasks are edited in ``frontend.views.plan``.

Every write goes through a service of ``projects.services`` (or ``accounts.services.matters``
for the status and access); a missing object and one the person may not see are both 404, one
they may see but not change is 403. A form sent with bad input shows the page again, with the
error at the field and status 400.
"""

from __future__ import annotations

from django import forms as django_forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from accounts import permissions, selectors
from accounts.errors import AtriumError, Forbidden, NotFound
from accounts.models import Matter, MatterStatus, User
from accounts.permissions import Action, TaskAction
from accounts.services import matters as matter_services
from frontend import forms, plan_forms
from frontend.context_processors import request_vocab
from frontend.plan_timeline import plan_axis
from frontend.views.common import account_or_404
from messaging import selectors as thread_selectors
from projects import services as plan_services
from projects.models import ChecklistTemplate, Task
from projects.selectors import plan as plan_selectors
from projects.selectors.plan import MatterPlan, plan_choices

# --- looking things up ----------------------------------------------------------------------


def matter_or_404(user: User, public_id: str) -> Matter:
    try:
        return permissions.matter_for(user, public_id)
    except NotFound:
        raise Http404 from None


def _may_change(user: User, matter: Matter) -> bool:
    return permissions.can_on_item(user, Action.CHANGE, matter)


def require_change(user: User, matter: Matter) -> None:
    if not _may_change(user, matter):
        raise PermissionDenied


def add_errors(form: django_forms.Form, error: AtriumError) -> None:
    """The service's refusal at the fields it names, or above the form."""
    named = [field for field in error.fields if field in form.fields]
    if named:
        for field in named:
            form.add_error(field, error.message)
    else:
        form.add_error(None, error.message)


# --- opening a matter -----------------------------------------------------------------------


def new_matter_form(request: HttpRequest, data=None) -> plan_forms.NewMatterForm:
    """The account page's form for a new matter, with the firm's templates to start from
    (firm staff only see them)."""
    templates = (
        list(ChecklistTemplate.objects.order_by("name"))
        if plan_services.templates_visible(request.user)
        else []
    )
    return plan_forms.NewMatterForm(data, templates=templates, vocab=request_vocab(request))


@login_required
@require_POST
def matter_create(request: HttpRequest, account_id: str) -> HttpResponse:
    account = account_or_404(request.user, account_id)
    form = new_matter_form(request, request.POST)
    back = redirect("frontend:account", account_id=account.public_id)
    if not form.is_valid():
        vocab = request_vocab(request)
        field, errors = next(iter(form.errors.items()))
        label = form.fields[field].label if field in form.fields else None
        where = f" ({label})" if label else ""
        messages.error(request, f"The {vocab.matter_lower} was not opened{where}: {errors[0]}")
        return back
    data = form.cleaned_data
    try:
        matter = plan_services.matter_plan_create(
            actor=request.user,
            account=account,
            title=data["title"],
            template=data["template"] or None,
            start=data["start"],
            description=data["description"],
            privileged=data["privileged"],
        )
        if data["status"] != MatterStatus.PLANNED:
            matter_services.matter_set_status(
                actor=request.user, matter=matter, status=data["status"]
            )
    except AtriumError as error:
        messages.error(request, error.message)
        return back
    return redirect("frontend:matter", matter_id=matter.public_id)


# --- the matter page ------------------------------------------------------------------------


def _tickable(user: User, plan: MatterPlan) -> set[int]:
    """The pks of the tasks ``user`` may tick. The permission gate's answer depends only on
    whose a task is (the viewer's, the client's, or someone else's), so it is asked once for
    each of the three, whatever the number of tasks."""
    asked = {
        (mine, for_client): permissions.can_on_task(
            user,
            TaskAction.TICK,
            Task(matter=plan.matter, assignee_id=user.pk if mine else None, for_client=for_client),
        )
        for mine, for_client in ((True, False), (False, True), (False, False))
    }
    return {
        planned.task.pk
        for planned in [t for p in plan.milestones for t in p.tasks] + plan.loose_tasks
        if asked[(planned.task.assignee_id == user.pk, planned.task.for_client)]
    }


def _task_groups(plan: MatterPlan) -> list[dict]:
    groups = [{"milestone": p.milestone, "tasks": p.tasks} for p in plan.milestones]
    if plan.loose_tasks:
        groups.append({"milestone": None, "tasks": plan.loose_tasks})
    return groups


# Addresses of a plan's rows, built from one prefix rather than a reverse() per row.
def _prefix(name: str) -> str:
    return reverse(name, args=["-"])[:-2]


def render_matter(
    request: HttpRequest, matter: Matter, *, status: int = 200, **bound
) -> HttpResponse:
    """The matter page. ``bound``: a form sent with bad input (``plan_form``,
    ``milestone_form`` or ``task_form``), shown instead of the empty one, opened."""
    user = request.user
    can_change = _may_change(user, matter)
    plan = plan_selectors.matter_plan(matter, today=timezone.localdate())
    people = selectors.matter_people(matter)
    grantable = []
    if matter.privileged and can_change:
        grantable = [u for u in selectors.account_people(matter.account) if u not in people]
    threads = [
        t
        for t in thread_selectors.thread_summaries(user)
        if t["matter"] and t["matter"]["id"] == matter.public_id
    ]
    context = {
        "matter": matter,
        "plan": plan,
        "axis": plan_axis(plan),
        "task_groups": _task_groups(plan),
        "tickable_ids": _tickable(user, plan),
        "task_base": _prefix("frontend:task_change"),
        "milestone_base": _prefix("frontend:milestone_change"),
        "people": people,
        "grantable": grantable,
        "can_change": can_change,
        "status_form": forms.MatterStatusForm(initial={"status": matter.status}),
        "threads": threads,
    }
    if bound:
        # The form is far down the page: the message at its top says where to look.
        messages.error(request, "Nothing was saved: see the form below.")
    if can_change:
        choices = plan_choices(user, matter)
        context["plan_form"] = bound.get("plan_form") or plan_forms.PlanForm(
            team=choices.team,
            initial={
                "title": matter.title,
                "description": matter.description,
                "start": matter.start_date,
                "target": matter.target_date,
                "owner": matter.owner.public_id if matter.owner_id else "",
            },
        )
        context["milestone_form"] = bound.get("milestone_form") or plan_forms.MilestoneForm()
        context["task_form"] = bound.get("task_form") or plan_forms.TaskForm(
            plan=plan, choices=choices
        )
        context["open_form"] = next(iter(bound), "")
    return render(request, "frontend/matter.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def matter_page(request: HttpRequest, matter_id: str) -> HttpResponse:
    matter = matter_or_404(request.user, matter_id)
    if request.method == "POST":
        form = forms.MatterStatusForm(request.POST)
        if form.is_valid():
            try:
                matter_services.matter_set_status(
                    actor=request.user, matter=matter, status=form.cleaned_data["status"]
                )
            except AtriumError as error:
                messages.error(request, error.message)
            else:
                messages.success(request, f"Status set to {matter.get_status_display()}.")
        else:
            messages.error(request, "Choose one of the listed statuses.")
        return redirect("frontend:matter", matter_id=matter.public_id)
    return render_matter(request, matter)


@login_required
@require_POST
def matter_access(request: HttpRequest, matter_id: str) -> HttpResponse:
    matter = matter_or_404(request.user, matter_id)
    form = forms.GrantForm(request.POST)
    person = (
        selectors.user_by_public_id(form.cleaned_data["user"], active_only=True)
        if form.is_valid()
        else None
    )
    if person is None:
        messages.error(request, "Choose a person from the list.")
        return redirect("frontend:matter", matter_id=matter.public_id)
    try:
        if form.cleaned_data.get("action") == "revoke":
            matter_services.matter_revoke(actor=request.user, matter=matter, user=person)
            word = request_vocab(request).matter_lower
            messages.success(request, f"{person.name} no longer sees this {word}.")
        else:
            matter_services.matter_grant(actor=request.user, matter=matter, user=person)
            word = request_vocab(request).matter_lower
            messages.success(request, f"{person.name} can now see this {word}.")
    except NotFound:
        raise Http404 from None
    except AtriumError as error:
        messages.error(request, error.message)
    return redirect("frontend:matter", matter_id=matter.public_id)


# --- the plan: dates and owner, milestones, tasks -------------------------------------------


def to_plan(matter: Matter, anchor: str = "") -> HttpResponse:
    """Back to the matter page, at the part of the plan that changed."""
    url = reverse("frontend:matter", args=[matter.public_id])
    return redirect(f"{url}#{anchor}" if anchor else url)


@login_required
@require_POST
def matter_plan(request: HttpRequest, matter_id: str) -> HttpResponse:
    matter = matter_or_404(request.user, matter_id)
    require_change(request.user, matter)
    form = plan_forms.PlanForm(request.POST, team=plan_choices(request.user, matter).team)
    if form.is_valid():
        try:
            plan_services.matter_plan_change(
                actor=request.user, matter=matter, fields=form.service_fields()
            )
        except Forbidden:
            raise PermissionDenied from None
        except AtriumError as error:
            add_errors(form, error)
        else:
            messages.success(request, "Plan saved.")
            return to_plan(matter, "plan")
    return render_matter(request, matter, status=400, plan_form=form)
