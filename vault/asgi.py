"""ASGI middleware for the vault's large transfers, and what the body limits need to know
about the vault's upload paths (``config.bodies`` applies them).

- Upload paths: the parts ``PUT`` (a part, plus slack) and the single-request ``POST
  /documents`` and ``/versions`` (``ATRIUM_VAULT_MAX_BYTES`` plus a form's slack) take bodies
  larger than the server's default limit, so their senders are checked before any of the
  body is read (``upload_sender_refusal``): signed in, and allowed to upload there.
- Uploads: bodies reach Django in pieces of at least 1 MiB (a server may send smaller
  messages). A body that carries a file and is no larger than an upload part (every part; a
  small single-request upload) is kept in memory rather than in Django's spool file
  (``config.server.ASGIHandler``), so its plaintext never reaches the disk.
- Downloads: flow control. Daphne's ``send`` returns at once and Twisted buffers whatever it
  is given, so a download served faster than the client reads it would pile up in the
  server's memory (a whole 1 GiB file, measured). Under Daphne, ``send`` is bound to the
  connection's Twisted request, which accepts a push producer: Twisted pauses it when the
  socket's send buffer is full and resumes it when drained. Each body message of a download
  waits until the producer is resumed, so a download moves at the client's pace and the
  server holds about one chunk of it. Under a server whose ``send`` is not such a binding,
  messages pass straight through: such servers apply their own flow control in ``send``
  (Uvicorn's waits while the transport's buffer is over its high-water mark), so the
  application reads the next chunk only once the last one was taken, on any server.
  A download that fails part way is cut off: the connection closes short of Content-Length.
  Under Daphne that is done here (``PacedSend.cut_short``); under any other server the
  failure is raised out of the application after the start and some of the body were sent,
  without the closing body message, and an ASGI server closes such a connection (Uvicorn
  and Granian do), which the client sees as the same short body.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
from dataclasses import dataclass
from importlib import import_module
from urllib.parse import parse_qs

from django.conf import settings
from django.contrib import auth
from django.http import HttpRequest
from django.http.cookie import parse_cookie
from django.urls import Resolver404, ResolverMatch, resolve

from accounts import permissions
from accounts.errors import NotFound
from vault import services
from vault.sessions import PART_BYTES, upload_for
from vault.uploads import FORM_SLACK

log = logging.getLogger(__name__)

VAULT_PREFIX = "/api/v1/vault/"
DOWNLOAD_VIEW = "vault_api:download"
PARTS_VIEW = "vault_api:upload"
DOCUMENTS_VIEW = "vault_api:documents"
VERSIONS_VIEW = "vault_api:versions"
# Bodies that carry a file, which stay in memory on their way to the sealer when they are no
# larger than an upload part (with a form's fields around it): the plaintext never reaches a
# temporary file. Larger single-request uploads are spooled by Django as usual.
FILE_BODIES = {
    ("PUT", PARTS_VIEW),
    ("POST", DOCUMENTS_VIEW),
    ("POST", VERSIONS_VIEW),
}
FILE_BODY_IN_MEMORY_MAX = PART_BYTES + FORM_SLACK


@dataclass(frozen=True)
class Refusal:
    """An answer given instead of reading a request's body, in the API's error shape."""

    status: int
    code: str
    message: str

    def body(self) -> bytes:
        return json.dumps({"error": {"code": self.code, "message": self.message}}).encode()


def upload_body_limit(method: str, view_name: str) -> int | None:
    """The largest body a vault upload path takes, or None for any other path."""
    if (method, view_name) not in FILE_BODIES:
        return None
    if view_name == PARTS_VIEW:
        return PART_BYTES + FORM_SLACK
    return settings.ATRIUM_VAULT_MAX_BYTES + FORM_SLACK


def _sender(cookie_header: str):
    """The person a request's session cookie signs in (AnonymousUser if none), checked as
    Django's authentication middleware checks it."""
    request = HttpRequest()
    request.COOKIES = parse_cookie(cookie_header)
    engine = import_module(settings.SESSION_ENGINE)
    request.session = engine.SessionStore(request.COOKIES.get(settings.SESSION_COOKIE_NAME))
    return auth.get_user(request)


def upload_sender_refusal(
    *, method: str, match: ResolverMatch, query_string: bytes, cookie_header: str
) -> Refusal | None:
    """Why the sender of an upload to ``match`` (one of ``FILE_BODIES``) may not send its
    body, judged from the headers alone; None if they may. Runs database queries: call it
    from a thread, never from an event loop.

    The answers are the ones the view would give once it had read the body: 401 for nobody
    signed in (or a deactivated person), 404 for an upload session that is not theirs or whose
    place they no longer reach, a document they cannot see, or an ``account`` (query
    parameter) they cannot see; 403 for a person who reaches no client account at all."""
    user = _sender(cookie_header)
    if not (user.is_authenticated and user.is_active):
        return Refusal(401, "not_authenticated", "Sign in first.")
    try:
        if match.view_name == PARTS_VIEW:
            upload_for(user, match.kwargs.get("upload_id", ""))
        elif match.view_name == VERSIONS_VIEW:
            services.document_for(user, match.kwargs.get("document_id", ""))
        else:
            query = parse_qs(query_string.decode("latin-1"))
            account = (query.get("account") or [""])[0]
            if account:
                permissions.account_for(user, account)
            elif not permissions.accounts_visible_to(user).exists():
                return Refusal(403, "forbidden", "You may not add documents to any client account.")
    except NotFound as error:
        return Refusal(error.status, error.code, error.message)
    return None


class VaultTransferMiddleware:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope.get("path", "").startswith(VAULT_PREFIX):
            await self.app(scope, receive, send)
            return
        if scope.get("method") in {"POST", "PUT"}:
            receive = CoalescingReceive(
                receive, body_in_memory=_file_body_in_memory(scope, _content_length(scope))
            )
        if _view_name(scope) == DOWNLOAD_VIEW:
            paced = PacedSend.wrap(send)
            try:
                await self.app(scope, receive, paced)
            except Exception:
                if not paced.cut_short():
                    raise
            finally:
                paced.release()
            return
        await self.app(scope, receive, send)


class CoalescingReceive:
    """Hands a request body to the application in pieces of at least ``PIECE_BYTES`` (but the
    last). A server may deliver a body in small messages (Daphne's default is 8 KiB), and
    Django handles each one separately: for a part of an upload that would be two thousand
    round trips through the event loop instead of sixteen. ``body_in_memory`` asks the
    handler to keep the body in memory (``config.server.ASGIHandler``)."""

    PIECE_BYTES = 1024 * 1024

    def __init__(self, receive, *, body_in_memory: bool = False):
        self._receive = receive
        self.body_in_memory = body_in_memory

    async def __call__(self):
        pieces: list[bytes] = []
        size = 0
        while True:
            message = await self._receive()
            if message.get("type") != "http.request":
                return message  # a disconnect: pass it on, the pieces do not matter now
            body = message.get("body", b"")
            pieces.append(body)
            size += len(body)
            more = message.get("more_body", False)
            if not more or size >= self.PIECE_BYTES:
                joined = pieces[0] if len(pieces) == 1 else b"".join(pieces)
                return {"type": "http.request", "body": joined, "more_body": more}


class PacedSend:
    """An ASGI ``send`` that waits, before each body message, until the transport can take
    more (a Twisted push producer registered on the connection's request)."""

    def __init__(self, send, request=None):
        self._send = send
        self._request = request
        self._writable = asyncio.Event()
        self._writable.set()
        self._registered = False
        self._started = self._ended = False
        if request is not None:
            try:
                request.registerProducer(self, True)
                self._registered = True
            except (ValueError, RuntimeError, AttributeError):
                log.warning("vault: download flow control unavailable on this connection")

    @classmethod
    def wrap(cls, send) -> PacedSend:
        request = server_request(send)
        if request is None or not hasattr(request, "registerProducer"):
            request = None
        return cls(send, request)

    # Twisted's IPushProducer, called from the reactor (the same event loop).
    def pauseProducing(self) -> None:
        self._writable.clear()

    def resumeProducing(self) -> None:
        self._writable.set()

    def stopProducing(self) -> None:  # the connection is going away
        self._writable.set()

    def release(self) -> None:
        if self._registered:
            self._registered = False
            with contextlib.suppress(Exception):
                self._request.unregisterProducer()

    def cut_short(self) -> bool:
        """End a response that failed after it started (a chunk that does not verify) by
        closing the connection: its status and Content-Length are out, so a body that stops
        short of that length is the only signal left. Daphne would try to start a 500 over
        it, fail, and leave the client waiting for the rest. False if this cannot be done
        here (nothing sent yet, or not under Daphne): the caller raises as usual."""
        if not self._started or self._ended or self._request is None:
            return False
        log.warning("vault: a download failed part way; closing its connection")
        self.release()
        self._ended = True
        self._request.loseConnection()
        return True

    async def __call__(self, message) -> None:
        if message.get("type") == "http.response.start":
            self._started = True
        if message.get("type") == "http.response.body":
            await self._writable.wait()
            if not message.get("more_body", False):
                # Twisted wants the producer gone before the response finishes.
                self.release()
                self._ended = True
        await self._send(message)


def server_request(send):
    """The Twisted request a Daphne ``send`` is bound to (``functools.partial(handle_reply,
    request)``), seen through middleware that wrap ``send`` and name what they wrap in
    ``__wrapped__``; None under another server."""
    while not isinstance(send, functools.partial):
        send = getattr(send, "__wrapped__", None)
        if send is None:
            return None
    return send.args[0] if send.args else None


def _view_name(scope) -> str:
    """The URL name the request's path resolves to (the project's own routes), or ""."""
    try:
        return resolve(scope.get("path", "")).view_name
    except Resolver404:
        return ""


def _file_body_in_memory(scope, declared: int | None) -> bool:
    if declared is None or declared > FILE_BODY_IN_MEMORY_MAX:
        return False
    return (scope["method"], _view_name(scope)) in FILE_BODIES


def _content_length(scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
