"""The Content-Security-Policy header on every response, and the endpoint browsers report
violations of it to.

The policy itself is ``CONTENT_SECURITY_POLICY`` in settings, applied by django-csp's
middleware with two changes: this host's WebSocket origin joins ``connect-src`` (browsers
without CSP level 3 do not count ``ws:``/``wss:`` as ``'self'``), and Django's own 404 and
500 pages under ``DEBUG`` carry the policy too (django-csp leaves them without one).

A violation report is logged as one line of JSON for the operator. The endpoint is anonymous
and CSRF-exempt (browsers send reports without cookies or tokens), so it is bounded: a small
body, a few reports per body, and a per-address and an overall number of reports per minute;
past those it answers without logging.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from dataclasses import asdict
from typing import Any
from urllib.parse import urlsplit

from csp.constants import HEADER
from csp.middleware import CSPMiddleware, PolicyParts
from csp.utils import build_policy
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.urls import Resolver404, resolve
from django.views.decorators.csrf import csrf_exempt
from django_permissions_policy import PermissionsPolicyMiddleware

from accounts.http import NUL_CODE, json_error, nul_fields

log = logging.getLogger(__name__)

# The largest report body read; a browser's report is well under 4 KiB.
REPORT_MAX_BYTES = 8 * 1024
# The most reports logged from one body (the Reporting API batches them).
REPORTS_PER_BODY = 10
# Reports accepted per minute from one address, and from everyone together.
REPORTS_PER_ADDRESS = 30
REPORTS_OVERALL = 300
REPORT_WINDOW_SECONDS = 60
LIMIT_KEY_PREFIX = "csp-report"
# Longest text kept from any field of a report.
FIELD_MAX_CHARS = 200
SAMPLE_MAX_CHARS = 40

REPORT_CONTENT_TYPES = {"application/csp-report", "application/reports+json", "application/json"}


# --- the header --------------------------------------------------------------------------


# Answers made below Django (a request body refused before it is read) carry no page: nothing
# in them may load or run anything.
EDGE_POLICY = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"


def edge_headers() -> list[tuple[str, str]]:
    """The security headers for answers that never pass Django's middleware, so that every
    response carries a Content-Security-Policy and a Permissions-Policy."""
    headers = [
        ("Content-Security-Policy", EDGE_POLICY),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", settings.X_FRAME_OPTIONS),
        ("Referrer-Policy", settings.SECURE_REFERRER_POLICY),
    ]
    features = PermissionsPolicyMiddleware.compute_header_value(
        getattr(settings, "PERMISSIONS_POLICY", {}), name="PERMISSIONS_POLICY"
    )
    if features:
        headers.append(("Permissions-Policy", features))
    return headers


def websocket_origin(request: HttpRequest) -> str | None:
    """``ws://host[:port]`` or ``wss://…`` for the host this request was addressed to, or
    None when the host is not an allowed one (that response is the refusal) or an IPv6
    literal, which a CSP source cannot name ('self' still covers it in CSP level 3)."""
    try:
        host = request.get_host()
    except DisallowedHost:
        return None
    if host.startswith("["):
        return None
    return f"{'wss' if request.is_secure() else 'ws'}://{host}"


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        origin = websocket_origin(request)
        if origin is not None:
            update = dict(parts.update or {})
            update["connect-src"] = [*update.get("connect-src", ()), origin]
            parts.update = update
        return parts

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        response = super().process_response(request, response)
        if HEADER not in response and not getattr(response, "_csp_exempt", False):
            # Only django-csp's exemption of DEBUG's 404 and 500 pages gets here: those are
            # pages too, and development runs under the policy production has.
            parts = self.get_policy_parts(request=request, response=response)
            response[HEADER] = build_policy(**asdict(parts))
        return response


# --- the report endpoint -----------------------------------------------------------------


class MalformedReport(ValueError):
    pass


def _within_limit(key: str, limit: int) -> tuple[bool, bool]:
    """Count one report against ``key`` in the current window: (allowed, just went over)."""
    bucket = int(time.time() // REPORT_WINDOW_SECONDS)
    full_key = f"{LIMIT_KEY_PREFIX}:{key}:{bucket}"
    if cache.add(full_key, 1, timeout=REPORT_WINDOW_SECONDS + 1):
        return True, False
    try:
        count = cache.incr(full_key)
    except ValueError:  # expired between add and incr
        cache.add(full_key, 1, timeout=REPORT_WINDOW_SECONDS + 1)
        return True, False
    return count <= limit, count == limit + 1


def _text(value: Any, limit: int = FIELD_MAX_CHARS) -> str:
    return str(value)[:limit] if value is not None else ""


def _number(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _where(url: Any, host: str) -> str:
    """A document or resource address without what could be secret in it: no query or
    fragment, and for our own pages the route (``/invite/<str:token>/``) instead of the
    path, so that invitation and reset tokens stay out of the log. Keywords such as
    ``inline`` or ``eval`` pass as they are."""
    parts = urlsplit(_text(url, 2048))
    ours = not parts.netloc or parts.netloc == host
    path = parts.path
    if ours and path.startswith("/"):
        with contextlib.suppress(Resolver404):
            path = "/" + resolve(path).route
    if parts.netloc:
        where = f"{parts.scheme}://{parts.netloc}{path}"
    elif parts.scheme:
        where = f"{parts.scheme}:{path}"
    else:
        where = path
    return where[:FIELD_MAX_CHARS]


def _from_csp_report(report: Any, host: str) -> dict[str, Any]:
    """One report of the ``report-uri`` format (``{"csp-report": {...}}``)."""
    if not isinstance(report, dict) or not isinstance(report.get("csp-report"), dict):
        raise MalformedReport('a report is an object with a "csp-report" object')
    body = report["csp-report"]
    return {
        "document": _where(body.get("document-uri"), host),
        "directive": _text(body.get("effective-directive") or body.get("violated-directive")),
        "blocked": _where(body.get("blocked-uri"), host),
        "source": _where(body.get("source-file"), host),
        "line": _number(body.get("line-number")),
        "column": _number(body.get("column-number")),
        "sample": _text(body.get("script-sample"), SAMPLE_MAX_CHARS),
        "disposition": _text(body.get("disposition")),
    }


def _from_reporting_api(reports: Any, host: str) -> list[dict[str, Any]]:
    """The ``report-to`` format: a list of ``{"type": "csp-violation", "body": {...}}``;
    other report types are not ours to log."""
    if not isinstance(reports, list) or not all(isinstance(item, dict) for item in reports):
        raise MalformedReport("a report list holds objects")
    found = []
    for item in reports:
        if item.get("type") != "csp-violation":
            continue
        body = item.get("body")
        if not isinstance(body, dict):
            raise MalformedReport('a csp-violation report has a "body" object')
        found.append(
            {
                "document": _where(body.get("documentURL") or item.get("url"), host),
                "directive": _text(body.get("effectiveDirective")),
                "blocked": _where(body.get("blockedURL"), host),
                "source": _where(body.get("sourceFile"), host),
                "line": _number(body.get("lineNumber")),
                "column": _number(body.get("columnNumber")),
                "sample": _text(body.get("sample"), SAMPLE_MAX_CHARS),
                "disposition": _text(body.get("disposition")),
            }
        )
    return found


def violations(payload: Any, *, host: str) -> list[dict[str, Any]]:
    """The violations in a parsed report body, in either format, for a page served as
    ``host``; MalformedReport if the body is neither format."""
    if isinstance(payload, list):
        return _from_reporting_api(payload, host)
    return [_from_csp_report(payload, host)]


def _declared_length(request: HttpRequest) -> int | None:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None


def _host(request: HttpRequest) -> str:
    try:
        return request.get_host()
    except DisallowedHost:
        return ""


@csrf_exempt
def csp_report(request: HttpRequest) -> HttpResponse:
    """Log the violations a browser reports: 204 when logged; 405, 415, 413, 400 or 429
    (with a JSON error) when the request is not a report we take."""
    if request.method != "POST":
        response = json_error("method_not_allowed", "Reports are sent with POST.", 405)
        response["Allow"] = "POST"
        return response
    address = request.META.get("REMOTE_ADDR") or "unknown"
    allowed, over = _within_limit(f"address:{address}", REPORTS_PER_ADDRESS)
    if allowed:
        allowed, over = _within_limit("overall", REPORTS_OVERALL)
        if over:
            log.warning("csp reports over the overall limit; not logged until the minute ends")
    elif over:
        log.warning("csp reports from %s over the limit; not logged until the minute ends", address)
    if not allowed:
        return json_error("too_many_reports", "Too many reports; try again later.", 429)

    if request.content_type not in REPORT_CONTENT_TYPES:
        log.info("csp report from %s refused: content type %.60r", address, request.content_type)
        return json_error(
            "unsupported_media_type",
            "A report is application/csp-report or application/reports+json.",
            415,
        )
    declared = _declared_length(request)
    if declared is None or declared > REPORT_MAX_BYTES:
        log.info("csp report from %s refused: declared length %s", address, declared)
        return json_error("too_large", f"A report is at most {REPORT_MAX_BYTES} bytes.", 413)
    body = request.read(REPORT_MAX_BYTES + 1)
    if len(body) > REPORT_MAX_BYTES:
        log.info("csp report from %s refused: body over %d bytes", address, REPORT_MAX_BYTES)
        return json_error("too_large", f"A report is at most {REPORT_MAX_BYTES} bytes.", 413)
    try:
        report = json.loads(body)
        refusal = nul_fields(report) if isinstance(report, dict) else {}
        if refusal:
            log.info("csp report from %s refused: NUL in %s", address, sorted(refusal))
            return json_error(NUL_CODE, "Text may not contain NUL characters.", 400, fields=refusal)
        found = violations(report, host=_host(request))
    except (ValueError, RecursionError) as problem:
        # json.JSONDecodeError and MalformedReport are both ValueErrors.
        reason = str(problem)[:120] if isinstance(problem, MalformedReport) else "not JSON"
        log.info("csp report from %s refused: %s", address, reason)
        return json_error("malformed_report", f"The report is malformed: {reason}.", 400)
    if len(found) > REPORTS_PER_BODY:
        log.info("csp report from %s: %d violations, logging the first", address, len(found))
    for violation in found[:REPORTS_PER_BODY]:
        violation["address"] = address
        # ensure_ascii escapes line breaks and control characters: one line per report.
        log.warning("csp violation %s", json.dumps(violation, sort_keys=True, ensure_ascii=True))
    return HttpResponse(status=204)
