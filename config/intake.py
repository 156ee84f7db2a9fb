"""A request body on its way into Daphne, held to the limit for its path before any of it
is read (``config.server.adapt_daphne`` has Daphne's requests use it; the limits are
``config.bodies``).

When a request's headers are in, its rule is known: a ``Content-Length`` over the limit is
answered 413 at once; a body without one is counted piece by piece and answered 413 at the
first byte over. On the vault's upload paths the channel stops reading while the sender is
checked on a thread (the reactor never waits for the database), then goes on, or answers with
the API's refusal. A refused request never reaches the application.

The answer is written straight to the connection with ``Connection: close``, and the
connection is closed for writing; what the client still sends is read and dropped for up to
``LINGER_SECONDS`` (at most ``LINGER_BYTES``), so that a client busy sending reads the
answer rather than a reset, and then the connection is closed.
"""

from __future__ import annotations

import logging
import time
from http import HTTPStatus
from urllib.parse import parse_qs, unquote

log = logging.getLogger(__name__)

MIB = 1024 * 1024
LINGER_SECONDS = 2.0  # how long a refused client's remaining body is read and dropped
LINGER_BYTES = 8 * MIB  # and how much of it at most
CHECK_REUSE_SECONDS = 30.0  # a sender check passed on a connection holds this long there


class Intake:
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
        self._check_key: tuple = ()
        self._resume = resume

    @classmethod
    def start(cls, request, body_rules, *, resume) -> Intake | None:
        """The intake of a request whose headers are in, or None if bodies are not limited
        (no ``body_rules``) or the channel is not one this knows."""
        if body_rules is None:
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
            body_rules(method, path),
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
        """Stop reading and check the sender on a thread; go on or refuse when known.

        The parts of one upload follow each other on one kept-alive connection: a check
        passed on this connection for the same sender, path and ``account`` within
        ``CHECK_REUSE_SECONDS`` is taken again rather than repeated (the view checks access
        again before it writes anything, so at most one part is read in vain if access ends
        meanwhile)."""
        from twisted.internet import threads

        channel = self.request.channel
        cookies = self.request.requestHeaders.getRawHeaders(b"Cookie") or []
        cookie_header = "; ".join(value.decode("latin-1") for value in cookies)
        # What the check depends on: not a part's offset, which changes from part to part.
        account = parse_qs(self.query.decode("latin-1")).get("account")
        self._check_key = (self.method, self.path, account, cookie_header)
        passed = getattr(channel, "atrium_sender_passed", None)
        if (
            passed is not None
            and passed[0] == self._check_key
            and time.monotonic() - passed[1] < CHECK_REUSE_SECONDS
        ):
            self.request.atrium_sender_checked = True
            return
        self.checking = True
        self.expect_continue = self._drop_expect()
        channel.paused = True
        channel._networkProducer.pauseProducing()
        deferred = threads.deferToThread(
            self.rule.sender_refusal,
            method=self.method,
            query_string=self.query,
            cookie_header=cookie_header,
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
        channel.atrium_sender_passed = (self._check_key, time.monotonic())
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
        # Here, not at the top: the bare benchmark server uses this module without Django.
        from config.bodies import refusal_headers

        body = refusal.body()
        head = f"HTTP/1.1 {refusal.status} {HTTPStatus(refusal.status).phrase}\r\n" + "".join(
            f"{name}: {value}\r\n" for name, value in refusal_headers(refusal, body)
        )
        head += "\r\n"
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
