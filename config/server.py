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
  (``Connection: close``), which is then closed for writing; what the client still sends is
  read and dropped for up to ``LINGER_SECONDS`` (at most ``LINGER_BYTES``), so that it reads
  the answer rather than a reset, and then the connection is closed. An ``Expect:
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
from http import HTTPStatus
from urllib.parse import unquote

from django.core.handlers.asgi import ASGIHandler as DjangoASGIHandler
from django.core.handlers.asgi import RequestAborted

log = logging.getLogger(__name__)

MIB = 1024 * 1024
MEMORY_BODY_BYTES = 17 * MIB  # an upload part (16 MiB), or a form around one, with room to spare
MEMORY_BODIES_TOTAL = 128 * MIB  # per process
BODY_MESSAGE_BYTES = MIB
LINGER_SECONDS = 2.0  # how long a refused client's remaining body is read and dropped
LINGER_BYTES = 8 * MIB  # and how much of it at most


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
    """Apply the adjustments in this module's docstring to Daphne's requests; harmless to call
    twice, and a no-op where Daphne is not installed. ``body_rules`` (``config.bodies.
    body_rule``, given by ``config.asgi`` once Django is set up) decides each request's limit;
    without it, bodies are not limited here."""
    global _body_rules
    if body_rules is not None:
        _body_rules = body_rules
    try:
        from daphne.http_protocol import WebRequest
        from twisted.web.http import Request
    except ImportError:  # not served by Daphne
        return
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
        intake = _Intake.start(self, resume=original_request_received)
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


class _Intake:
    """One Daphne request's body on its way in, held to its ``config.bodies.BodyRule``.

    Twisted's HTTP channel parses the connection's bytes; ``paused`` on the channel stops it
    from parsing what it has already read, and pausing its network producer stops it reading
    more. Both are Twisted's own switches (``LineReceiver.paused``, ``HTTPChannel.
    _networkProducer``); the method and path, known before the request object is told them,
    are the channel's ``_command`` and ``_path``."""

    def __init__(self, request, rule, *, method: str, path: str, query: bytes, resume):
        self.request = request
        self.rule = rule
        self.method = method
        self.path = path
        self.query = query
        self.received = 0
        self.closed = False  # answered: nothing more is read, nothing reaches the application
        self.checking = False
        self.expect_continue = False
        self.held: tuple | None = None  # the body ended while its sender was being checked
        self._resume = resume

    @classmethod
    def start(cls, request, *, resume) -> _Intake | None:
        if _body_rules is None:
            return None
        channel = request.channel
        command = getattr(channel, "_command", None)
        uri = getattr(channel, "_path", None)
        if not isinstance(command, bytes) or not isinstance(uri, bytes):
            return None  # not an HTTP/1 channel as this Twisted has it
        raw_path, _, query = uri.partition(b"?")
        try:
            path = unquote(raw_path.decode("ascii"))
        except UnicodeDecodeError:
            path = "/"  # Daphne answers 400 for such a path; the default limit holds meanwhile
        method = command.decode("latin-1").upper()
        intake = cls(
            request,
            _body_rules(method, path),
            method=method,
            path=path,
            query=query,
            resume=resume,
        )
        request.atrium_intake = intake
        return intake

    def take(self, size: int) -> bool:
        """Count a piece of the body: whether it may be kept."""
        if self.closed:
            return False
        self.received += size
        if self.received > self.rule.limit:
            self.refuse(self.rule.too_large(), f"over {self.rule.limit} bytes sent")
            return False
        return True

    def body_complete(self, arguments: tuple) -> bool:
        """The whole body is in: whether the application may have it now."""
        if self.closed:
            return False
        if self.checking:
            self.held = arguments
            return False
        return True

    def _drop_expect(self) -> bool:
        """Take ``Expect: 100-continue`` away from Twisted, which would answer it as soon as
        the headers are in; whether it was asked for."""
        headers = self.request.requestHeaders
        asked = any(
            value.strip().lower() == b"100-continue"
            for value in headers.getRawHeaders(b"Expect") or []
        )
        headers.removeHeader(b"Expect")
        return asked

    def check_sender(self) -> None:
        """Stop reading and check the sender on a thread; go on or refuse when known."""
        from twisted.internet import threads

        channel = self.request.channel
        self.checking = True
        self.expect_continue = self._drop_expect()
        channel.paused = True
        channel._networkProducer.pauseProducing()
        cookies = self.request.requestHeaders.getRawHeaders(b"Cookie") or []
        deferred = threads.deferToThread(
            self.rule.sender_refusal,
            method=self.method,
            query_string=self.query,
            cookie_header="; ".join(value.decode("latin-1") for value in cookies),
        )
        deferred.addCallbacks(self._checked, self._check_failed)

    def _checked(self, refusal) -> None:
        request = self.request
        if self.closed or request.channel is None:
            return  # the client went away meanwhile
        if refusal is not None:
            self.refuse(refusal, "sender may not upload here")
            return
        self.checking = False
        request.atrium_sender_checked = True
        channel = request.channel
        held, self.held = self.held, None
        if self.expect_continue and held is None:
            channel.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        channel.paused = False
        channel._networkProducer.resumeProducing()
        channel.dataReceived(b"")  # parse what arrived while the check ran
        if held is not None and not self.closed:
            self._resume(request, *held)

    def _check_failed(self, failure) -> None:
        log.error(
            "upload sender check failed for %s %s: %s",
            self.method,
            self.path,
            failure.getTraceback(),
        )
        if self.request.channel is not None:
            self.refuse(self.rule.check_failed(), "the check failed")

    def refuse(self, refusal, detail: str) -> None:
        """Answer ``refusal`` now, without the body, and close the connection."""
        from twisted.internet import reactor

        if self.closed:
            return
        self.closed = True
        log.info(
            "%s %s refused before its body was read (%s): %d %s",
            self.method,
            self.path,
            detail,
            refusal.status,
            refusal.code,
        )
        self._drop_expect()
        channel = self.request.channel
        transport = getattr(channel, "transport", None)
        if transport is None:
            return
        body = refusal.body()
        head = (
            f"HTTP/1.1 {refusal.status} {HTTPStatus(refusal.status).phrase}\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n"
        )
        channel.paused = True  # parse nothing more from this connection
        channel.dataReceived = _Drain(transport)
        transport.write(head.encode("ascii") + body)
        channel._networkProducer.resumeProducing()
        lose_write = getattr(transport, "loseWriteConnection", None)
        if lose_write is not None:
            lose_write()
        else:
            transport.loseConnection()
        reactor.callLater(LINGER_SECONDS, _close, transport)


class _Drain:
    """Stands in for a refused connection's parser: drops what the client still sends, and
    closes the connection once that passes ``LINGER_BYTES``."""

    def __init__(self, transport):
        self.transport = transport
        self.dropped = 0

    def __call__(self, data: bytes) -> None:
        self.dropped += len(data)
        if self.dropped > LINGER_BYTES:
            _close(self.transport)


def _close(transport) -> None:
    if getattr(transport, "connected", False) and not getattr(transport, "disconnected", False):
        abort = getattr(transport, "abortConnection", None) or transport.loseConnection
        abort()


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
