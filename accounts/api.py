"""``/api/v1/`` endpoints of the accounts app."""

from __future__ import annotations

import json

from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse

from accounts import permissions, selectors
from accounts.errors import Invalid, NotFound
from accounts.http import api_endpoint, refuse_nul, request_fields
from accounts.models import AccountStatus, ClientAccount, User
from accounts.services import client_accounts as account_services
from accounts.services import passwords as password_services
from accounts.services import people as people_services
from accounts.services import profile as profile_services
from accounts.services import sessions as session_services


def user_json(user) -> dict:
    return {
        "id": user.public_id,
        "email": user.email,
        "name": user.name,
        "initials": user.initials,
        "firm_role": user.firm_role or None,
        "time_zone": user.time_zone or None,
        "avatar": selectors.avatar_url(user),
    }


def only_fields(data: dict, allowed: set[str]) -> dict:
    """``data`` if it names no field but ``allowed``; Invalid ``unknown_field`` naming the
    others otherwise (a misspelt field must not be a silent no-op)."""
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise Invalid(
            "Unknown field: " + ", ".join(unknown) + ".",
            code="unknown_field",
            fields=dict.fromkeys(unknown, "unknown"),
        )
    return data


@api_endpoint("GET", "PATCH")
def me(request: HttpRequest) -> JsonResponse:
    """GET: the signed-in user and the client accounts they may see, with their role in
    each. PATCH: change their own ``name`` and/or ``time_zone``."""
    if request.method == "PATCH":
        data = only_fields(request_fields(request), {"name", "time_zone"})
        if "name" in data and data["name"] is None:
            raise Invalid("The name must be text.", fields={"name": "invalid"})
        time_zone = data.get("time_zone")
        if "time_zone" in data and time_zone is None:
            time_zone = ""  # null puts the deployment's zone back, as "" does
        profile_services.profile_update(
            user=request.user, name=data.get("name"), time_zone=time_zone
        )
    return JsonResponse(
        {
            "user": user_json(request.user),
            "accounts": [
                {
                    "id": account.public_id,
                    "name": account.name,
                    "slug": account.slug,
                    "status": account.status,
                    "role": role.value if role else None,
                }
                for account, role in selectors.account_roles(request.user)
            ],
        }
    )


# --- client accounts and their people -------------------------------------------------------


def _json_object(request: HttpRequest, allowed: set[str]) -> dict:
    """The body as a JSON object with no other fields than ``allowed``. Invalid: ``bad_json``
    for a body that is not a JSON object (or not sent as ``application/json``),
    ``nul_character``, ``unknown_field`` naming each field not taken here."""
    if request.content_type != "application/json":
        raise Invalid("Send a JSON object as application/json.", code="bad_json")
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise Invalid("The body is not valid JSON.", code="bad_json") from None
    if not isinstance(data, dict):
        raise Invalid("The body must be a JSON object.", code="bad_json")
    refuse_nul(data)
    unknown = {str(name): "unknown" for name in data if name not in allowed}
    if unknown:
        raise Invalid(
            f"Unknown field: {', '.join(sorted(unknown))}.", code="unknown_field", fields=unknown
        )
    return data


def account_json(account: ClientAccount) -> dict:
    return {
        "id": account.public_id,
        "name": account.name,
        "slug": account.slug,
        "status": account.status,
        "created_at": account.created_at.isoformat(),
    }


def person_json(user: User) -> dict:
    return {**selectors.person_json(user), "email": user.email}


@api_endpoint("POST")
def accounts(request: HttpRequest) -> JsonResponse:
    """Open a client account (firm admins)."""
    data = _json_object(request, {"name"})
    account = account_services.client_account_create(actor=request.user, name=data.get("name"))
    return JsonResponse(account_json(account), status=201)


@api_endpoint("PATCH")
def account(request: HttpRequest, account_id: str) -> JsonResponse:
    """Rename an account and/or set its status, all or nothing."""
    target = permissions.account_for(request.user, account_id)
    account_services.client_account_change_check(request.user, target)
    data = _json_object(request, {"name", "status"})
    if not data:
        raise Invalid("Send a name, a status, or both.", code="nothing_to_change")
    if "status" in data and data["status"] not in AccountStatus.values:
        raise Invalid("The status is active, suspended or archived.", fields={"status": "invalid"})
    with transaction.atomic():
        if "name" in data:
            account_services.client_account_rename(
                actor=request.user, account=target, name=data["name"]
            )
        if "status" in data:
            account_services.client_account_set_status(
                actor=request.user, account=target, status=data["status"]
            )
    return JsonResponse(account_json(target))


@api_endpoint("GET")
def account_people(request: HttpRequest, account_id: str) -> JsonResponse:
    """The account's team, a page of its client people, and its pending invitations."""
    target = permissions.account_for(request.user, account_id)
    limit = selectors.page_limit(request.GET.get("limit"))
    found = selectors.account_people_page(
        request.user, target, cursor=request.GET.get("cursor"), limit=limit
    )
    return JsonResponse(
        {
            "account": target.public_id,
            "team": [_team_entry(t) for t in found.team],
            "people": [{"user": person_json(m.user), "role": m.role} for m in found.members],
            "next": found.next,
            "invitations": [
                {
                    "id": i.public_id,
                    "email": i.email,
                    "name": i.name,
                    "role": i.role,
                    "invited_by": i.invited_by.public_id if i.invited_by else None,
                    "expires_at": i.expires_at.isoformat(),
                }
                for i in found.invitations
            ],
        }
    )


def _team_entry(assignment) -> dict:
    return {
        "user": person_json(assignment.user),
        "title": assignment.title,
        "lead": assignment.lead,
    }


@api_endpoint("POST")
def account_team(request: HttpRequest, account_id: str) -> JsonResponse:
    """Put a staff member on the team, or make them (or stop them being) its lead."""
    target = permissions.account_for(request.user, account_id)
    account_services.team_manage_check(request.user)
    data = _json_object(request, {"user", "lead"})
    lead = data.get("lead")
    if lead is not None and not isinstance(lead, bool):
        raise Invalid("lead is true or false.", fields={"lead": "invalid"})
    person = selectors.user_by_public_id(data.get("user"), active_only=True)
    if person is None:
        raise Invalid(
            "Name an active member of the firm's staff by id.",
            code="unknown_user",
            fields={"user": "not_found"},
        )
    joined = selectors.team_place(target, person) is None
    assignment = account_services.team_assign(
        actor=request.user, account=target, user=person, lead=lead
    )
    return JsonResponse(_team_entry(assignment), status=201 if joined else 200)


@api_endpoint("DELETE")
def account_team_member(request: HttpRequest, account_id: str, user_id: str) -> HttpResponse:
    """Take a staff member off the team."""
    target = permissions.account_for(request.user, account_id)
    account_services.team_manage_check(request.user)
    person = selectors.user_by_public_id(user_id)
    if person is None or selectors.team_place(target, person) is None:
        raise NotFound("That person is not on this account's team.")
    account_services.team_unassign(actor=request.user, account=target, user=person)
    return HttpResponse(status=204)


def _client_person(user_id: str) -> User:
    person = selectors.user_by_public_id(user_id)
    if person is None:
        raise NotFound("That person is not in this account.")
    return person


@api_endpoint("PATCH", "DELETE")
def account_person(request: HttpRequest, account_id: str, user_id: str) -> JsonResponse:
    """Change a client person's role, or take them out of the account."""
    target = permissions.account_for(request.user, account_id)
    people_services.client_people_manage_check(request.user, target)
    if request.method == "DELETE":
        removal = people_services.client_person_remove(
            actor=request.user, account=target, user=_client_person(user_id)
        )
        return JsonResponse({"user": removal.user.public_id, "deactivated": removal.deactivated})
    data = _json_object(request, {"role"})
    if "role" not in data:
        raise Invalid('Send the role: "admin" or "member".', fields={"role": "required"})
    membership = people_services.client_person_set_role(
        actor=request.user,
        account=target,
        user=_client_person(user_id),
        role=data["role"],
    )
    return JsonResponse({"user": person_json(membership.user), "role": membership.role})


@api_endpoint("POST")
def me_password(request: HttpRequest) -> JsonResponse:
    """Change one's own password; every other session ends, this one stays signed in."""
    data = only_fields(request_fields(request), {"current_password", "new_password"})
    ended = password_services.password_change(
        user=request.user,
        current_password=data.get("current_password"),
        new_password=data.get("new_password"),
        keep_session_key=request.session.session_key,
    )
    session_services.session_keep_after_password_change(request)
    return JsonResponse({"sessions_ended": ended})
