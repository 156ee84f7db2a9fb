"""``/api/v1/`` endpoints of the messaging app."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse

from accounts.http import api_endpoint, request_fields
from messaging import preferences, subscriptions
from messaging.models import Channel


def preferences_json(chosen: dict[str, str], subscribed: dict[str, bool]) -> dict:
    return {
        # The e-mails taken whole, on or off, that this person is offered:
        # ``"status_digest": true`` for a client user.
        **subscribed,
        "kinds": [
            {"kind": kind, "label": label, "channel": chosen[kind]}
            for kind, label in preferences.kinds()
        ],
        "channels": [{"channel": value, "label": label} for value, label in Channel.choices],
    }


@api_endpoint("GET", "PATCH")
def my_notifications(request: HttpRequest) -> JsonResponse:
    """GET: how the person is told of each kind of thing, and the e-mails they take whole.
    PATCH ``{kind: channel, name: true|false, …}``: change some of them (every entry checked
    before any is written)."""
    if request.method == "PATCH":
        chosen, subscribed = subscriptions.notifications_set(
            user=request.user, changes=request_fields(request)
        )
    else:
        chosen = preferences.preferences_for(request.user)
        subscribed = subscriptions.subscriptions_for(request.user)
    return JsonResponse(preferences_json(chosen, subscribed))
