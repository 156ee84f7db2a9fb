"""``/api/v1/`` endpoints of the accounts app."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import reverse

from accounts import selectors
from accounts.errors import Invalid
from accounts.http import api_endpoint, request_fields
from accounts.services import passwords as password_services
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
        "avatar": reverse("frontend:avatar", args=[user.public_id]) if user.avatar else None,
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
    summaries = selectors.accounts_for_user(request.user)
    return JsonResponse(
        {
            "user": user_json(request.user),
            "accounts": [
                {
                    "id": s.account.public_id,
                    "name": s.account.name,
                    "slug": s.account.slug,
                    "status": s.account.status,
                    "role": s.role.value if s.role else None,
                }
                for s in summaries
            ],
        }
    )


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
