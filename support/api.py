"""``/api/v1/`` endpoints of support tickets (``docs/api.md``, "Tickets"). Session
authentication with CSRF on unsafe methods; JSON bodies; errors are JSON with stable codes;
a ticket someone may not see is the same 404 as a missing one. The services hold every
rule; these views look up, call one and answer."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse

from accounts.errors import Invalid
from accounts.http import account_named, api_endpoint, body_fields
from accounts.selectors import page_limit, user_by_public_id
from support import selectors, services

OPEN_FIELDS = {"account", "category", "subject", "body", "priority"}
REPLY_FIELDS = {"body", "status"}
CHANGE_FIELDS = {"status", "assignee", "priority"}


@api_endpoint("GET")
def categories(request: HttpRequest) -> HttpResponse:
    account = account_named(request.user, request.GET.get("account"), where="query")
    found = selectors.categories_for(request.user, account)
    return JsonResponse(
        {"account": account.public_id, "categories": [selectors.category_json(c) for c in found]}
    )


@api_endpoint("GET", "POST")
def tickets(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return _open(request)
    account = None
    if request.GET.get("account"):
        account = account_named(request.user, request.GET.get("account"), where="query")
    page = selectors.tickets_page(
        request.user,
        account=account,
        status=request.GET.get("status"),
        view=request.GET.get("view"),
        cursor=request.GET.get("cursor"),
        limit=page_limit(request.GET.get("limit")),
    )
    return JsonResponse(
        {"tickets": [selectors.ticket_json(t) for t in page.rows], "next": page.next}
    )


def _open(request: HttpRequest) -> HttpResponse:
    data = body_fields(request, OPEN_FIELDS)
    account = account_named(request.user, data.get("account"))
    opened = services.ticket_open(
        actor=request.user,
        account=account,
        category=data.get("category"),
        subject=data.get("subject"),
        body=data.get("body"),
        priority=data.get("priority"),
    )
    return JsonResponse(
        selectors.ticket_json(selectors.ticket_for(request.user, opened.public_id)), status=201
    )


def _assignee(value: object):
    if value is None:
        return None
    person = user_by_public_id(value)
    if person is None:
        raise Invalid("assignee is a person's id (usr_…) or null.", fields={"assignee": "unknown"})
    return person


@api_endpoint("GET", "PATCH")
def ticket(request: HttpRequest, ticket_id: str) -> HttpResponse:
    found = selectors.ticket_for(request.user, ticket_id)
    if request.method == "PATCH":
        data = body_fields(request, CHANGE_FIELDS, change=True)
        given = {}
        if "assignee" in data:
            given["assignee"] = _assignee(data["assignee"])
        found = services.ticket_update(
            actor=request.user,
            ticket=found,
            status=data.get("status"),
            priority=data.get("priority"),
            **given,
        )
    return JsonResponse(selectors.ticket_json(found))


@api_endpoint("POST")
def replies(request: HttpRequest, ticket_id: str) -> HttpResponse:
    found = selectors.ticket_for(request.user, ticket_id)
    data = body_fields(request, REPLY_FIELDS)
    sent = services.ticket_reply(
        actor=request.user, ticket=found, body=data.get("body"), status=data.get("status")
    )
    return JsonResponse(
        {"message": sent.message_id, "seq": sent.seq, "ticket": selectors.ticket_json(found)},
        status=201,
    )
