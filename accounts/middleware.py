"""Middleware of the accounts app: a signed-in session's last use, and the firm's
two-factor rule."""

from __future__ import annotations

from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve, reverse

from accounts import permissions
from accounts.http import client_meta, json_error
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


class SharedPermissionCheckersMiddleware:
    """One permission checker per person for the whole of a request that changes nothing
    (GET, HEAD): a page that asks about the same account several times (its header, its
    links, its panels) asks the database once (``permissions.checkers_shared``). A request
    that writes checks anew each time, as do sockets and services outside requests."""

    SAFE_METHODS = frozenset({"GET", "HEAD"})

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method not in self.SAFE_METHODS:
            return self.get_response(request)
        with permissions.checkers_shared():
            return self.get_response(request)


# The pages a person the firm requires two-factor of may use before setting it up (or, with
# a session signed in without a code, before signing in again).
TWO_FACTOR_OPEN_ROUTES = frozenset(
    {
        "frontend:two_factor",
        "frontend:two_factor_confirm",
        "frontend:logout",
        "frontend:login",
        "frontend:login_code",
        "frontend:logo",
        "csp_report",
    }
)


class TwoFactorMiddleware:
    """Hold firm admins and staff at the two-factor set-up until they have done it, when the
    firm requires it (``accounts.services.two_factor.gate``): pages redirect to the set-up
    page, the API answers 403 ``two_factor_required``. A session signed in without a code
    (from before the set-up elsewhere) is signed out and sent to sign in again."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return self.get_response(request)
        from accounts.services import two_factor

        state = two_factor.gate(user, request.session)
        if state is two_factor.Gate.OPEN:
            return self.get_response(request)
        match = resolve_quietly(request.path_info)
        if match is not None and match.view_name in TWO_FACTOR_OPEN_ROUTES:
            # The page is served but the socket would be refused: it does not open one.
            request.two_factor_pending = True
            return self.get_response(request)
        if request.path_info.startswith("/api/"):
            return json_error(
                "two_factor_required",
                "Your firm requires two-factor sign-in: set it up at "
                + reverse("frontend:two_factor")
                + " first.",
                403,
            )
        if state is two_factor.Gate.VERIFY:
            logout(request)
            return redirect_to_login(request.get_full_path(), reverse("frontend:login"))
        return redirect("frontend:two_factor")


def resolve_quietly(path: str):
    try:
        return resolve(path)
    except Resolver404:
        return None
