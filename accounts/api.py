"""``/api/v1/`` endpoints of the accounts app."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse

from accounts import selectors
from accounts.http import api_endpoint


def user_json(user) -> dict:
    return {
        "id": user.public_id,
        "email": user.email,
        "name": user.name,
        "initials": user.initials,
        "firm_role": user.firm_role or None,
    }


@api_endpoint("GET")
def me(request: HttpRequest) -> JsonResponse:
    """The signed-in user and the client accounts they may see, with their role in each."""
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
