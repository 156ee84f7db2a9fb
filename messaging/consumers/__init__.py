"""The portal's one WebSocket per browser tab (``docs/protocol.md``).

Thin: each frame is validated here and handed to one service or selector, on the messaging
database threads (``messaging.database``). Permission rules live in ``accounts.permissions``;
a socket remembers its answers and the user between frames (``messaging.access``) and
checks before every frame that nothing reduced the user's access since, so a deactivated or
revoked user's next frame is refused even if the push announcing it was lost. Live events
arrive through the process hub (``messaging.hub``) already encoded and are sent as they are.

``connection`` holds ``PortalConsumer`` (handshake, dispatch, hub events); its frame
handlers come from ``gate`` (access checks), ``threads`` (subscription, history, replay),
``messages`` (send, edit, delete, read, typing), ``presence`` and ``notifications``;
``frames`` checks frame fields.
"""

from messaging.consumers.connection import PortalConsumer
from messaging.consumers.frames import FrameError
from messaging.consumers.gate import CLOSE_ACCESS_ENDED
from messaging.consumers.messages import TYPING_INTERVAL_SECONDS
from messaging.consumers.threads import Subscription

__all__ = [
    "CLOSE_ACCESS_ENDED",
    "TYPING_INTERVAL_SECONDS",
    "FrameError",
    "PortalConsumer",
    "Subscription",
]
