"""The portal's one WebSocket per browser tab (``docs/protocol.md``)."""

from __future__ import annotations

import json
import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from messaging import protocol

log = logging.getLogger(__name__)


class PortalConsumer(AsyncWebsocketConsumer):
    """Refuses the handshake for anonymous or inactive users; greets the others with
    ``hello``. Every inbound frame is validated; a bad one gets an ``error`` frame and the
    connection stays open."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_active:
            log.info("websocket refused: no signed-in session")
            await self.close()
            return
        self.user = user
        await self.accept()
        hello = await database_sync_to_async(protocol.hello_frame)(user)
        await self.send(text_data=json.dumps(hello))

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        frame, error = protocol.parse_frame(text_data, bytes_data)
        if error is not None:
            await self.send(text_data=json.dumps(error))
            return
        log.info(
            "websocket frame of unknown type %r from %s", frame.get("type"), self.user.public_id
        )
        await self.send(
            text_data=json.dumps(
                protocol.error_frame(
                    "unknown_type",
                    f"Unknown frame type {frame.get('type')!r}.",
                    ref=frame.get("ref"),
                )
            )
        )
