"""Adjustments to the web server Atrium runs under, and to Django's ASGI handler.

Daphne receives a request's whole body before the application runs: Twisted writes it to a
temporary file as it arrives, then Daphne reads it back and queues all of it for the
application, which Django copies into a spool file of its own before the view reads it. For
the parts of a vault upload (16 MiB each, the way the browser sends files) those two file
copies cost more than sealing and hashing the part. ``adapt_daphne`` changes four things:

- **Bodies are held to their limit as they arrive** (``config.bodies``): when a request's
  headers are in (Twisted's ``gotLength``, before any of the body), a ``Content-Length`` over
  the limit for its path is answered 413 at once; a body without one (chunked) is counted
  piece by piece and answered 413 at the first byte over. On the vault's upload paths,
  reading stops while the sender is checked on a thread (session cookie, permission: the
  reactor does not wait for the database) and resumes only if they may upload there;
  otherwise they get the API's 401, 403 or 404. A refused request never reaches the
  application, so nothing of it is stored. The answer is written straight to the connection
  (``Connection: close``), which is then closed (``config.intake``). An ``Expect:
  100-continue`` is only answered with ``100 Continue`` once the body is welcome.

- **No form parsing by Twisted.** Twisted would parse every form POST body into
  ``request.args`` before the application sees it: a multipart body read whole and parsed in
  memory on the reactor thread (a 200 MiB upload took a worker to 2.7 GB and stalled all its
  connections for 18 s), for any path and before anyone is signed in. Daphne never reads
  ``args``; Django parses the body itself, as a stream. Twisted's own switch for it
  (``parsePOSTFormSubmission``) is turned off.
- **Bodies of up to ``MEMORY_BODY_BYTES`` stay in memory** (a ``MemoryBody``) instead of a
  temporary file, while the process holds less than ``MEMORY_BODIES_TOTAL`` in such bodies;
  past that, or for larger or unsized bodies, Twisted's temporary file as before. Daphne
  would load the body into memory for the application anyway; this only skips the trip
  through the disk.
- **Body messages of up to ``BODY_MESSAGE_BYTES``** (Daphne's ``request_buffer_size``, which
  its command line does not expose) instead of 8 KiB: 16 messages for a part, not 2,048.

And one thing about WebSockets: a message over Daphne's limit (``--websocket-max-message-size``,
1 MiB by default) is refused by autobahn before the application sees it, by dropping the TCP
connection (the client sees 1006, as if the network had failed). With autobahn's
``failByDrop`` off, it sends a close frame with the reason's code instead (1009, message too
big; 1002 or 1007 for a protocol violation or bad UTF-8), as docs/protocol.md promises.

``ASGIHandler`` is Django's, except that a body whose ``receive`` says ``body_in_memory``
(vault upload parts, bounded by their size) is kept in a ``MemoryBody`` rather than Django's
spool file. Nothing about the body reaching the application changes: the same bytes in the
same order.
"""

from __future__ import annotations

import collections
import functools
import inspect
import io
import logging
import threading

from django.core.handlers.asgi import ASGIHandler as DjangoASGIHandler
from django.core.handlers.asgi import RequestAborted

from config.intake import Intake

log = logging.getLogger(__name__)

MIB = 1024 * 1024
MEMORY_BODY_BYTES = 17 * MIB  # an upload part (16 MiB), or a form around one, with room to spare
MEMORY_BODIES_TOTAL = 128 * MIB  # per process
BODY_MESSAGE_BYTES = MIB


class MemoryBody(io.BufferedIOBase):
    """A request body in memory: written in order, then read once from the start. The pieces
    are kept as they arrive and let go as they are read, so reading does not double the
    memory; a read of exactly one whole piece hands that piece over without copying.

    ``reserved`` bytes count against the process's ``MEMORY_BODIES_TOTAL`` until closed."""

    def __init__(self, reserved: int = 0):
        super().__init__()
        self._pieces: collections.deque[bytes] = collections.deque()
        self._size = 0
        self._position = 0
        self._offset = 0  # how much of the first piece has been read
        self._reading = False
        self._reserved = reserved

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return not self._reading

    def seekable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._checkClosed()
        if self._reading:
            raise io.UnsupportedOperation("a MemoryBody is written before it is read")
        piece = bytes(data)
        if piece:
            self._pieces.append(piece)
            self._size += len(piece)
        self._position = self._size
        return len(piece)

    def tell(self) -> int:
        self._checkClosed()
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self._checkClosed()
        origins = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}
        if whence not in origins:
            raise ValueError(f"invalid whence ({whence})")
        target = origins[whence] + offset
        if target == self._position:
            return target
        if target == 0 and not self._reading:
            self._position = 0
            self._reading = True
            return 0
        raise io.UnsupportedOperation("a MemoryBody is read once, from the start")

    def read(self, size: int | None = -1) -> bytes:
        self._checkClosed()
        if not self._reading:
            if self._position == self._size and self._size:
                return b""  # at the end of what was written
            self._reading = True
        wanted = self._size - self._position
        if size is not None and size >= 0:
            wanted = min(wanted, size)
        if wanted <= 0:
            return b""
        first = self._pieces[0]
        if self._offset == 0 and len(first) == wanted:
            self._pieces.popleft()
            self._position += wanted
            return first
        taken: list[bytes] = []
        missing = wanted
        while missing:
            piece = self._pieces[0]
            available = len(piece) - self._offset
            if available <= missing:
                taken.append(piece[self._offset :] if self._offset else piece)
                self._pieces.popleft()
                self._offset = 0
                missing -= available
            else:
                taken.append(piece[self._offset : self._offset + missing])
                self._offset += missing
                missing = 0
        self._position += wanted
        return taken[0] if len(taken) == 1 else b"".join(taken)

    def read1(self, size: int = -1) -> bytes:
        return self.read(size)

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._pieces.clear()
            _release(self._reserved)
            self._reserved = 0
        super().close()


_held = 0
_held_lock = threading.Lock()


def _reserve(size: int) -> bool:
    global _held
    with _held_lock:
        if _held + size > MEMORY_BODIES_TOTAL:
            return False
        _held += size
        return True


def _release(size: int) -> None:
    global _held
    if size:
        with _held_lock:
            _held -= size


def memory_bodies_held() -> int:
    """Bytes this process has reserved for request bodies in memory just now."""
    return _held


_body_rules = None  # (method, path) -> config.bodies.BodyRule, once adapt_daphne is given it


def adapt_daphne(*, body_rules=None) -> None:
    """Apply the adjustments in this module's docstring to Daphne's requests and WebSockets;
    harmless to call twice, and a no-op where Daphne is not installed. ``body_rules``
    (``config.bodies.body_rule``, given by ``config.asgi`` once Django is set up) decides each
    request's limit; without it, bodies are not limited here."""
    global _body_rules
    if body_rules is not None:
        _body_rules = body_rules
    try:
        from daphne.http_protocol import WebRequest
        from twisted.web.http import Request
    except ImportError:  # not served by Daphne
        return
    _close_websockets_instead_of_dropping()
    if getattr(WebRequest, "adapted_by_atrium", False):
        return
    parse_switch = "parsePOSTFormSubmission" in inspect.signature(Request.__init__).parameters
    if not parse_switch:
        log.warning("this Twisted parses every form body in memory; upgrade it")
    original_init = WebRequest.__init__
    original_got_length = WebRequest.gotLength
    original_content_chunk = WebRequest.handleContentChunk
    original_request_received = WebRequest.requestReceived

    @functools.wraps(original_init)
    def __init__(self, *args, **kwargs):
        if parse_switch:
            kwargs.setdefault("parsePOSTFormSubmission", False)
        original_init(self, *args, **kwargs)
        server = getattr(self, "server", None)
        if server is not None and getattr(server, "request_buffer_size", 0) < BODY_MESSAGE_BYTES:
            server.request_buffer_size = BODY_MESSAGE_BYTES

    @functools.wraps(original_got_length)
    def gotLength(self, length):
        intake = Intake.start(self, _body_rules, resume=original_request_received)
        if intake is not None and length is not None and length > intake.rule.limit:
            intake.refuse(intake.rule.too_large(), f"{length} bytes declared")
            return
        if length is not None and 0 < length <= MEMORY_BODY_BYTES and _reserve(length):
            self.content = MemoryBody(reserved=length)
        else:
            original_got_length(self, length)
        if intake is not None and intake.rule.upload is not None:
            intake.check_sender()

    @functools.wraps(original_content_chunk)
    def handleContentChunk(self, data):
        intake = getattr(self, "atrium_intake", None)
        if intake is not None and not intake.take(len(data)):
            return
        original_content_chunk(self, data)

    @functools.wraps(original_request_received)
    def requestReceived(self, command, path, version):
        intake = getattr(self, "atrium_intake", None)
        if intake is not None and not intake.body_complete((command, path, version)):
            return
        original_request_received(self, command, path, version)

    WebRequest.__init__ = __init__
    WebRequest.gotLength = gotLength
    WebRequest.handleContentChunk = handleContentChunk
    WebRequest.requestReceived = requestReceived
    WebRequest.adapted_by_atrium = True


def _close_websockets_instead_of_dropping() -> None:
    """Daphne's WebSocket factory, with autobahn's ``failByDrop`` off (see the docstring)."""
    from daphne.ws_protocol import WebSocketFactory

    if getattr(WebSocketFactory, "adapted_by_atrium", False):
        return
    original_init = WebSocketFactory.__init__

    @functools.wraps(original_init)
    def __init__(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        # Daphne sets its own options later (sizes, timeouts); it never sets this one.
        self.setProtocolOptions(failByDrop=False)

    WebSocketFactory.__init__ = __init__
    WebSocketFactory.adapted_by_atrium = True


class ASGIHandler(DjangoASGIHandler):
    """Django's ASGI handler; a body marked ``body_in_memory`` skips Django's spool file."""

    async def read_body(self, receive):
        if not getattr(receive, "body_in_memory", False):
            return await super().read_body(receive)
        body = MemoryBody()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                body.close()
                raise RequestAborted()
            if "body" in message:
                body.write(message["body"])
            if not message.get("more_body", False):
                break
        body.seek(0)
        return body
