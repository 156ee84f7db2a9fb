"""The baseline of ``bench.ws_load``: a bare Channels broadcast server.

No authentication, no storage, no Django project: one ``AsyncWebsocketConsumer`` at
``/ws/<room>/`` that joins the channel-layer group of its room on connect and ``group_send``s
every text frame it receives to that room, where every member (the sender too) sends it on
unchanged. Served by Daphne exactly as Atrium is::

    daphne -b 127.0.0.1 -p 8001 bench.baseline_app:application

``REDIS_URL`` set: the Redis layer, configured as Atrium's settings configure it (capacity 1500,
expiry 30 s, a 15 s socket read timeout); unset: the in-memory layer (capacity 1500 as well).
"""

from __future__ import annotations

import os

import django
from django.conf import settings

REDIS_URL = os.environ.get("REDIS_URL", "")

if not settings.configured:
    if REDIS_URL:
        layer = {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # As Atrium's settings have it: a receive blocks in Redis for up to 5 s, so the
                # client's read timeout (5 s by default in redis-py 8) must outlast it.
                "hosts": [{"address": REDIS_URL, "socket_timeout": 15}],
                "capacity": 1500,
                "expiry": 30,
            },
        }
    else:
        layer = {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 1500}}
    settings.configure(
        DEBUG=False,
        INSTALLED_APPS=[],
        DATABASES={},
        CHANNEL_LAYERS={"default": layer},
        LOGGING_CONFIG=None,
    )
    django.setup()

# After settings: Channels reads them on import.
from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402


class BroadcastConsumer(AsyncWebsocketConsumer):
    """Everything a member of the room sends goes to every member of the room."""

    async def connect(self) -> None:
        self.room = "room." + self.scope["url_route"]["kwargs"]["room"]
        await self.channel_layer.group_add(self.room, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "room"):
            await self.channel_layer.group_discard(self.room, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data is not None:
            await self.channel_layer.group_send(
                self.room, {"type": "room.message", "text": text_data}
            )

    async def room_message(self, event: dict) -> None:
        await self.send(text_data=event["text"])


application = ProtocolTypeRouter(
    {"websocket": URLRouter([path("ws/<slug:room>/", BroadcastConsumer.as_asgi())])}
)
