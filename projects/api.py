"""``/api/v1/`` endpoints of matters' plans: matters, milestones, tasks and checklist
templates (``docs/api.md``, "Projects"). Session-authenticated with CSRF on unsafe methods;
JSON bodies; errors are JSON with stable codes; missing and not visible are the same 404.
The services hold every rule; these views look up, call one and answer."""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone

from accounts import permissions
from accounts.errors import Invalid
from accounts.http import api_endpoint, request_fields
from accounts.selectors import page_limit
from accounts.services.matters import matter_set_status
from projects import services
from projects.selectors import matters as selectors

MATTER_FIELDS = {"title", "description", "start", "target", "owner", "status"}
MATTER_CREATE_FIELDS = {
    "account",
    "title",
    "template",
    "start",
    "description",
    "target",
    "owner",
    "privileged",
}
MILESTONE_FIELDS = {"title", "due", "position"}
TASK_FIELDS = {"title", "milestone", "assignee", "due", "kind", "folder", "approval"}


def _body(request: HttpRequest, allowed: set[str], *, change: bool = False) -> dict:
    """The body's fields, none but ``allowed``: Invalid ``unknown_field`` naming each other
    one (a misspelt field silently ignored would look like a change that was made), and
    ``nothing_to_change`` for a ``change`` (PATCH) without any field."""
    data = request_fields(request)
    unknown = {str(name): "unknown" for name in data if name not in allowed}
    if unknown:
        raise Invalid(
            f"Unknown field: {', '.join(sorted(unknown))}.", code="unknown_field", fields=unknown
        )
    if change and not data:
        raise Invalid("Send at least one field to change.", code="nothing_to_change")
    return data


def _matter_answer(request: HttpRequest, matter, *, status: int = 200) -> JsonResponse:
    detail = selectors.matter_detail(request.user, matter, today=timezone.localdate())
    return JsonResponse(detail, status=status)


@api_endpoint("GET", "POST")
def matters(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return _matter_create(request)
    if not request.GET.get("account"):
        raise Invalid("Name the account: ?account=ACC.", fields={"account": "required"})
    account = permissions.account_for(request.user, request.GET["account"])
    page = selectors.matters_page(
        request.user,
        account,
        today=timezone.localdate(),
        cursor=request.GET.get("cursor"),
        limit=page_limit(request.GET.get("limit")),
    )
    return JsonResponse({"account": account.public_id, "matters": page.rows, "next": page.next})


def _matter_create(request: HttpRequest) -> HttpResponse:
    data = _body(request, MATTER_CREATE_FIELDS)
    if data.get("account") in (None, ""):
        raise Invalid("Name the account.", fields={"account": "required"})
    if not isinstance(data["account"], str):
        raise Invalid("account is an id (acc_…).", fields={"account": "invalid"})
    account = permissions.account_for(request.user, data["account"])
    matter = services.matter_plan_create(
        actor=request.user,
        account=account,
        title=data.get("title"),
        template=data.get("template"),
        start=data.get("start"),
        description=data.get("description", ""),
        privileged=data.get("privileged", False),
        owner=data.get("owner"),
        target=data.get("target"),
    )
    return _matter_answer(request, matter, status=201)


@api_endpoint("GET", "PATCH")
def matter(request: HttpRequest, matter_id: str) -> HttpResponse:
    found = permissions.matter_for(request.user, matter_id)
    if request.method == "PATCH":
        data = _body(request, MATTER_FIELDS, change=True)
        plan = {name: value for name, value in data.items() if name != "status"}
        # All or nothing: a refused status leaves the plan's fields as they were.
        with transaction.atomic():
            if plan:
                found = services.matter_plan_change(actor=request.user, matter=found, fields=plan)
            if "status" in data:
                found = matter_set_status(actor=request.user, matter=found, status=data["status"])
    return _matter_answer(request, found)


@api_endpoint("POST")
def milestones(request: HttpRequest, matter_id: str) -> HttpResponse:
    found = permissions.matter_for(request.user, matter_id)
    data = _body(request, MILESTONE_FIELDS)
    milestone = services.milestone_add(
        actor=request.user,
        matter=found,
        title=data.get("title"),
        due=data.get("due"),
        position=data.get("position"),
    )
    return JsonResponse(
        selectors.milestone_detail(milestone, today=timezone.localdate()), status=201
    )


@api_endpoint("PATCH", "DELETE")
def milestone(request: HttpRequest, milestone_id: str) -> HttpResponse:
    found = services.milestone_for(request.user, milestone_id)
    if request.method == "DELETE":
        services.milestone_delete(actor=request.user, milestone=found)
        return HttpResponse(status=204)
    data = _body(request, MILESTONE_FIELDS, change=True)
    changed = services.milestone_change(actor=request.user, milestone=found, fields=data)
    return JsonResponse(selectors.milestone_detail(changed, today=timezone.localdate()))


@api_endpoint("POST")
def tasks(request: HttpRequest, matter_id: str) -> HttpResponse:
    found = permissions.matter_for(request.user, matter_id)
    data = _body(request, TASK_FIELDS)
    task = services.task_add(
        actor=request.user,
        matter=found,
        title=data.get("title"),
        milestone=data.get("milestone"),
        assignee=data.get("assignee"),
        due=data.get("due"),
        kind=data.get("kind", "todo"),
        folder=data.get("folder"),
        approval=data.get("approval"),
    )
    return JsonResponse(selectors.task_detail(task, today=timezone.localdate()), status=201)


@api_endpoint("PATCH", "DELETE")
def task(request: HttpRequest, task_id: str) -> HttpResponse:
    found = services.task_for(request.user, task_id)
    if request.method == "DELETE":
        services.task_delete(actor=request.user, task=found)
        return HttpResponse(status=204)
    data = _body(request, TASK_FIELDS | {"done"}, change=True)
    changed = services.task_change(actor=request.user, task=found, fields=data)
    return JsonResponse(selectors.task_detail(changed, today=timezone.localdate()))


@api_endpoint("GET")
def templates(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"templates": selectors.templates_for(request.user)})
