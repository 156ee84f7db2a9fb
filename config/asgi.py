"""ASGI entry point: Daphne serves HTTP and the WebSocket at /ws/.

Request bodies are held to their limit (``config.bodies``): under Daphne before any of a
body is read (``config.server``), under any server by ``BodyLimitMiddleware``. The parts of
an upload reach the view without a trip through the disk (``vault.asgi``). WebSocket
connections must come from an allowed Origin (``config.origins``: scheme, host and port) and
carry a signed-in session; the consumer refuses anonymous and inactive users.
"""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup(set_prefix=False)

from config.server import ASGIHandler, adapt_daphne  # noqa: E402

django_asgi_app = ASGIHandler()

# Imported after Django is set up: the routes import models.
from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from config.bodies import BodyLimitMiddleware, body_rule  # noqa: E402
from config.origins import OriginValidator  # noqa: E402
from messaging.routing import websocket_urlpatterns  # noqa: E402
from vault.asgi import VaultTransferMiddleware  # noqa: E402

adapt_daphne(body_rules=body_rule)

application = ProtocolTypeRouter(
    {
        "http": BodyLimitMiddleware(VaultTransferMiddleware(django_asgi_app)),
        "websocket": OriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
