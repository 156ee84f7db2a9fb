"""Adjustments to the web server Atrium runs under.

Under Daphne, Twisted parses every form POST body into ``request.args`` before the
application sees it: a multipart body read whole and parsed in memory on the reactor thread
(a 200 MiB upload took a worker to 2.7 GB and stalled all its connections for 18 s), for any
path and before anyone is signed in. Daphne never reads ``args``; Django parses the body
itself, as a stream. ``leave_request_bodies_unparsed`` turns Twisted's parsing off with the
switch Twisted has for it (``parsePOSTFormSubmission``); the body reaches the application
untouched.
"""

from __future__ import annotations

import functools
import inspect
import logging

log = logging.getLogger(__name__)


def leave_request_bodies_unparsed() -> None:
    """Make Daphne's requests skip Twisted's form parsing (``parsePOSTFormSubmission``, the
    switch Twisted has for it); the body still reaches the application untouched."""
    try:
        from daphne.http_protocol import WebRequest
        from twisted.web.http import Request
    except ImportError:  # not served by Daphne
        return
    if getattr(WebRequest.__init__, "leaves_bodies_unparsed", False):
        return
    if "parsePOSTFormSubmission" not in inspect.signature(Request.__init__).parameters:
        log.warning("this Twisted parses every form body in memory; upgrade it")
        return
    original = WebRequest.__init__

    @functools.wraps(original)
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("parsePOSTFormSubmission", False)
        original(self, *args, **kwargs)

    __init__.leaves_bodies_unparsed = True
    WebRequest.__init__ = __init__
