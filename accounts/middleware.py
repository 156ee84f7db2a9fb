"""Middleware of the accounts app: a signed-in session's last use."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from accounts.http import client_meta
from accounts.services.sessions import session_seen


class SessionSeenMiddleware:
    """Note when each signed-in session was last used, and from where (at most every few
    minutes per session: ``accounts.services.sessions.session_seen``)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        session = getattr(request, "session", None)
        if (
            user is not None
            and user.is_authenticated
            and session is not None
            and session.session_key
        ):
            session_seen(session_key=session.session_key, ip=client_meta(request)["ip"])
        return response
