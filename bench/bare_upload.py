"""The least an upload in parts can cost on Daphne: the baseline ``bench/vault_http.py`` runs
beside Atrium's own upload.

A bare ASGI application, no Django: ``PUT /upload/NAME?final=0|1`` takes a part's body (in
memory, as ``config.server.adapt_daphne`` has Daphne deliver it), hashes it with SHA-256,
seals it with ``vault.crypto.Sealer`` and appends the result to ``BARE_SPOOL_DIR/NAME``, all
on the event loop's thread; the last part finishes the file and answers its SHA-256. No
session, no permission check, no database, no key handling: what is left is the server
receiving the bytes, the crypto, and the write.

    daphne bench.bare_upload:application
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from urllib.parse import parse_qsl

from config.server import adapt_daphne
from vault import crypto

adapt_daphne()

_uploads: dict[str, dict] = {}


async def application(scope, receive, send):
    if scope["type"] != "http":
        return
    query = dict(parse_qsl(scope["query_string"].decode()))
    name = scope["path"].rsplit("/", 1)[-1]
    pieces = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        pieces.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    state = _uploads.get(name)
    if state is None:
        path = Path(os.environ["BARE_SPOOL_DIR"]) / name
        state = _uploads[name] = {
            "sealer": crypto.Sealer(crypto.new_key(), "ver_" + "b" * 24),
            "digest": hashlib.sha256(),
            "file": open(path, "wb"),  # noqa: SIM115 - closed with the last part
            "received": 0,
        }
    for piece in pieces:
        state["digest"].update(piece)
        state["file"].write(state["sealer"].feed(piece))
        state["received"] += len(piece)
    answer: dict = {"received": state["received"]}
    if query.get("final") == "1":
        state["file"].write(state["sealer"].finish())
        state["file"].close()
        answer["sha256"] = state["digest"].hexdigest()
        del _uploads[name]
    body = json.dumps(answer).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
