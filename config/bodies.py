"""How large a request body may be, by path, and the ASGI guard that holds bodies to it.

Every request body is limited to ``BODY_MAX_BYTES`` (1 MiB), except on the vault's upload
paths (``vault.asgi.upload_body_limit``): an upload part (a part, plus slack), and a
single-request upload (``ATRIUM_VAULT_MAX_BYTES`` plus a form's slack); and on the public
check page, which takes one file of ``ATRIUM_CHECK_MAX_BYTES`` plus a form's slack. The
vault's larger bodies are only taken from someone signed in who may upload there
(``vault.asgi.upload_sender_refusal``), and that is decided before any of the body is read;
the check page's from anyone, each address a few times per window (its view counts them).

Under Daphne these rules are applied by the server itself as the headers come in
(``config.server``): nothing of a refused body is read. ``BodyLimitMiddleware`` applies them
again at the ASGI level for any server: a declared ``Content-Length`` over the limit, or a
sender who may not upload, is answered before the application runs; a body that turns out
longer than the limit (chunked, or longer than declared) is cut off at the first byte over
it, the application sees the client go away (Django stores nothing of a body it did not get
whole) and the client gets 413.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections
from django.urls import Resolver404, ResolverMatch, resolve

from config.content_security import edge_headers
from vault.asgi import Refusal, server_request, upload_body_limit, upload_sender_refusal
from vault.uploads import FORM_SLACK, too_large_message

log = logging.getLogger(__name__)

MIB = 1024 * 1024
BODY_MAX_BYTES = MIB
CHECK_VIEW = "frontend:check"


@dataclass(frozen=True)
class BodyRule:
    """What a request to one path may send: at most ``limit`` bytes, and, for an upload path
    (``upload`` is its URL match), only once its sender has been checked."""

    limit: int
    upload: ResolverMatch | None = None

    def too_large(self) -> Refusal:
        if self.upload is not None and self.upload.view_name != "vault_api:upload":
            message = too_large_message()
        else:
            message = f"The request body is larger than the limit of {self.limit} bytes."
        return Refusal(413, "too_large", message)

    def check_failed(self) -> Refusal:
        return Refusal(500, "server_error", "The server could not check the upload.")

    def sender_refusal(self, *, method: str, query_string: bytes, cookie_header: str):
        """``vault.asgi.upload_sender_refusal`` for this upload path. Blocks on the database:
        call it on a thread of its own, whose connection is closed when past its age (as
        Django does after a request)."""
        close_old_connections()
        try:
            return upload_sender_refusal(
                method=method,
                match=self.upload,
                query_string=query_string,
                cookie_header=cookie_header,
            )
        finally:
            close_old_connections()


def body_rule(method: str, path: str) -> BodyRule:
    """The rule for a request, from its method and (decoded) path alone."""
    try:
        match = resolve(path)
    except Resolver404:
        return BodyRule(BODY_MAX_BYTES)
    if match.view_name == CHECK_VIEW and method.upper() == "POST":
        # The public check page reads one file of anyone's (docs/signatures.md).
        return BodyRule(settings.ATRIUM_CHECK_MAX_BYTES + FORM_SLACK)
    limit = upload_body_limit(method.upper(), match.view_name)
    if limit is None:
        return BodyRule(BODY_MAX_BYTES)
    return BodyRule(limit, match)


def declared_length(headers) -> int | None:
    """The Content-Length of ASGI headers, or None (absent or not a number)."""
    for name, value in headers:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


def cookie_header(headers) -> str:
    return "; ".join(value.decode("latin-1") for name, value in headers if name == b"cookie")


def checked_by_server(send) -> bool:
    """Whether Daphne (adapted by ``config.server``) already checked this request's sender:
    its ``send`` is bound to the Twisted request, which says so."""
    return bool(getattr(server_request(send), "atrium_sender_checked", False))


def refusal_headers(refusal: Refusal, body: bytes) -> list[tuple[str, str]]:
    """The headers of a refusal answered before the body is read: JSON, closing the
    connection, with the security headers every response carries."""
    return [
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(body))),
        ("Connection", "close"),
        *edge_headers(),
    ]


async def answer(send, refusal: Refusal) -> None:
    body = refusal.body()
    headers = [
        (name.lower().encode("latin-1"), value.encode("latin-1"))
        for name, value in refusal_headers(refusal, body)
    ]
    await send({"type": "http.response.start", "status": refusal.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class BodyLimitMiddleware:
    """Holds HTTP request bodies to ``body_rule`` (see the module's docstring)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope.get("method", "GET")
        rule = body_rule(method, scope.get("path", ""))
        headers = scope.get("headers", [])
        declared = declared_length(headers)
        if declared is not None and declared > rule.limit:
            log.info(
                "body refused before reading: %d bytes declared to %s %s (limit %d)",
                declared,
                method,
                scope.get("path"),
                rule.limit,
            )
            await answer(send, rule.too_large())
            return
        if rule.upload is not None and not checked_by_server(send):
            refusal = await sync_to_async(rule.sender_refusal, thread_sensitive=False)(
                method=method,
                query_string=scope.get("query_string", b""),
                cookie_header=cookie_header(headers),
            )
            if refusal is not None:
                log.info(
                    "upload refused before reading: %s %s: %s",
                    method,
                    scope.get("path"),
                    refusal.code,
                )
                await answer(send, refusal)
                return
        counted = CountedReceive(receive, rule.limit)
        tracked = TrackedSend(send)
        await self.app(scope, counted, tracked)
        if counted.over and not tracked.started:
            log.info(
                "body cut off at %d bytes: %s %s (limit %d)",
                counted.received,
                method,
                scope.get("path"),
                rule.limit,
            )
            await answer(send, rule.too_large())


class TrackedSend:
    """An ASGI ``send`` that notes whether the response has started."""

    def __init__(self, send):
        self.__wrapped__ = send
        self.started = False

    async def __call__(self, message) -> None:
        if message.get("type") == "http.response.start":
            self.started = True
        await self.__wrapped__(message)


class CountedReceive:
    """An ASGI ``receive`` that counts the body's bytes: once they pass ``limit``, the
    application is told the client went away (``over`` says why), and nothing more of the
    body is read."""

    def __init__(self, receive, limit: int):
        self._receive = receive
        self.limit = limit
        self.received = 0
        self.over = False

    async def __call__(self):
        if self.over:
            return {"type": "http.disconnect"}
        message = await self._receive()
        if message.get("type") == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.limit:
                self.over = True
                return {"type": "http.disconnect"}
        return message
