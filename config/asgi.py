"""ASGI entry point: HTTP and the WebSocket at /ws/, served by Daphne or Uvicorn
(``config.serve`` starts either).

Request bodies are held to their limit (``config.bodies``): under Daphne before any of a
body is read (``config.server``), under any server by ``BodyLimitMiddleware``. The parts of
an upload reach the view without a trip through the disk (``vault.asgi``). WebSocket
connections must come from an allowed Origin (``config.origins``: scheme, host and port) and
carry a signed-in session; the consumer refuses anonymous and inactive users.

Once all of that is loaded, it is moved out of the garbage collector's sight
(``gc.freeze``): see the comment at the end.
"""

import gc
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

# Every view and the URL patterns, imported now rather than at the first request, so that
# they are loaded before the freeze below.
from django.urls import get_resolver  # noqa: E402

get_resolver().url_patterns  # noqa: B018 - loading them is the point

# What is alive now (modules, settings, models, URL patterns: hundreds of thousands of
# objects) lives as long as the process. A full collection walks every object the collector
# tracks, so each one a request happened to set off cost ~60 ms on top of that request (the
# status page's p95, docs/performance.md). Frozen, those objects are left out of every
# collection; garbage made before the freeze is collected first so that none is kept.
gc.collect()
gc.freeze()
