"""The JSON API's conventions, shared by every app's ``/api/v1/`` endpoints.

Errors are ``{"error": {"code": CODE, "message": TEXT}}`` with a stable code; missing and
forbidden objects are the same 404. Session authentication with CSRF for unsafe methods.

Text never holds a NUL character (PostgreSQL cannot store one, and no person types one):
``nul_fields`` is the one check, applied to every query string and path parameter by
``api_endpoint``, to every body by ``request_fields``, and to the fields of a streamed upload
once they are parsed. Pages get the same refusal as a form error from Django's form fields.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import logging
import unicodedata
from collections.abc import Callable, Collection, Mapping

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.datastructures import MultiValueDict

from accounts import permissions
from accounts.errors import AtriumError, Invalid
from accounts.models import ClientAccount

log = logging.getLogger(__name__)


def json_error(code: str, message: str, status: int, *, fields: dict | None = None) -> JsonResponse:
    body: dict = {"error": {"code": code, "message": message}}
    if fields:
        body["error"]["fields"] = fields
    return JsonResponse(body, status=status)


def _address(value: object) -> str | None:
    try:
        return str(ipaddress.ip_address(value)) if value else None
    except ValueError:
        return None


def client_meta(request: HttpRequest) -> dict:
    """Where a request came from, as records of access keep it: the address (behind a proxy,
    the one Daphne took from X-Forwarded-For; None if it is not one) and the user agent
    without control characters (a header is not a field to refuse, but NUL is never stored)."""
    agent = request.META.get("HTTP_USER_AGENT", "")
    return {
        "ip": _address(request.META.get("REMOTE_ADDR")),
        "user_agent": "".join(ch for ch in agent if unicodedata.category(ch) != "Cc"),
    }


def signed_in_meta(request: HttpRequest) -> dict:
    """``client_meta`` and how the sender signed in, as evidence records it: a session is
    opened only by the sign-in form, with a password."""
    return {**client_meta(request), "authentication": "password"}


NUL = "\x00"
NUL_CODE = "nul_character"


def _holds_nul(value: object) -> bool:
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, Mapping):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_holds_nul(v) for v in value)
    return False


def nul_fields(data: Mapping) -> dict[str, str]:
    """The fields of a query string, a form or a JSON object whose name or value (every
    value of a repeated form field, anything nested in JSON) holds a NUL character, as
    ``error.fields`` names them: ``{name: "nul_character"}``."""
    items = data.lists() if isinstance(data, MultiValueDict) else data.items()
    return {str(name): NUL_CODE for name, value in items if _holds_nul(name) or _holds_nul(value)}


def refuse_nul(data: Mapping) -> None:
    """Raise Invalid (``nul_character``, naming each field) if any field holds a NUL."""
    fields = nul_fields(data)
    if fields:
        raise Invalid("Text may not contain NUL characters.", code=NUL_CODE, fields=fields)


def request_fields(request: HttpRequest) -> dict:
    """The request body's fields: a JSON object, or form fields (one value per name).
    Raises Invalid: ``bad_json`` for a body that is not a JSON object, ``nul_character``
    (``refuse_nul``) for a field holding a NUL."""
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            raise Invalid("The body is not valid JSON.", code="bad_json") from None
        if not isinstance(data, dict):
            raise Invalid("The body must be a JSON object.", code="bad_json")
        refuse_nul(data)
        return data
    refuse_nul(request.POST)
    return request.POST.dict()


def body_fields(request: HttpRequest, allowed: Collection[str], *, change: bool = False) -> dict:
    """The body's fields (``request_fields``), none but ``allowed``: Invalid
    ``unknown_field`` naming each other one (a misspelt field silently ignored would look like
    a change that was made), and ``nothing_to_change`` for a ``change`` (PATCH) without any
    field."""
    data = request_fields(request)
    unknown = {str(name): "unknown" for name in data if name not in allowed}
    if unknown:
        raise Invalid(
            f"Unknown field: {', '.join(sorted(unknown))}.", code="unknown_field", fields=unknown
        )
    if change and not data:
        raise Invalid("Send at least one field to change.", code="nothing_to_change")
    return data


def account_named(user, value: object, *, where: str = "body") -> ClientAccount:
    """The account a request names (``account`` in the body, or ``?account=`` when ``where``
    is "query"), if ``user`` may see it: Invalid ``required`` or ``invalid`` for a missing or
    non-text id, else as ``permissions.account_for`` (NotFound)."""
    if value in (None, ""):
        message = "Name the account: ?account=ACC." if where == "query" else "Name the account."
        raise Invalid(message, fields={"account": "required"})
    if not isinstance(value, str):
        raise Invalid("account is an id (acc_…).", fields={"account": "invalid"})
    return permissions.account_for(user, value)


def api_endpoint(*methods: str) -> Callable:
    """Decorate a JSON view: allowed methods, a signed-in active user, no NUL in the query
    string or the path's parameters, and service errors turned into JSON with their code."""

    allowed = {m.upper() for m in methods}

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if request.method not in allowed:
                response = json_error(
                    "method_not_allowed", f"{request.method} is not allowed here.", 405
                )
                response["Allow"] = ", ".join(sorted(allowed))
                return response
            if not (request.user.is_authenticated and request.user.is_active):
                return json_error("not_authenticated", "Sign in first.", 401)
            try:
                refuse_nul(request.GET)
                refuse_nul(kwargs)
                return view(request, *args, **kwargs)
            except AtriumError as error:
                if error.status >= 500:
                    log.error("api %s %s failed: %s", request.method, request.path, error.code)
                else:
                    log.info(
                        "api %s %r refused: %s %s",
                        request.method,
                        request.path,
                        error.code,
                        sorted(error.fields),
                    )
                return json_error(error.code, error.message, error.status, fields=error.fields)

        return wrapper

    return decorate
