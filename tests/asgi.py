"""One HTTP request through the whole ASGI application (``config.asgi``), in this process:
what it answers, and how much of the body it asked for."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass


@dataclass
class Answer:
    sent: list[dict]  # the ASGI messages the application sent
    asked: int  # how many body messages it asked for

    @property
    def status(self) -> int | None:
        return self.sent[0]["status"] if self.sent else None

    @property
    def headers(self) -> dict[bytes, bytes]:
        """The answer's headers, by lower-case name."""
        return {name.lower(): value for name, value in self.sent[0]["headers"]} if self.sent else {}

    @property
    def json(self):
        body = b"".join(m.get("body", b"") for m in self.sent if m["type"] == "http.response.body")
        return json.loads(body) if body else None


def request(
    path: str, method: str, headers: dict[str, str], pieces: list[bytes], *, cut: bool = False
) -> Answer:
    """Send the request whose body arrives in ``pieces`` (``cut``: the client goes away half
    way through them)."""
    from asgiref.sync import async_to_sync

    from config.asgi import application

    path, _, query = path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(name.lower().encode(), value.encode()) for name, value in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    messages = [
        {"type": "http.request", "body": piece, "more_body": i < len(pieces) - 1}
        for i, piece in enumerate(pieces)
    ]
    if cut:
        messages = [*messages[: len(messages) // 2], {"type": "http.disconnect"}]
    answer = Answer(sent=[], asked=0)

    async def receive():
        if messages:
            answer.asked += 1
            return messages.pop(0)
        await asyncio.Event().wait()  # nothing more until the response is done

    async def send(message):
        answer.sent.append(message)

    async_to_sync(application)(scope, receive, send)
    return answer
