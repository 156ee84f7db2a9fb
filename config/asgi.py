"""ASGI entry point: Daphne serves HTTP and the WebSocket at /ws/.

Vault uploads declared larger than the limit are refused before their body is read.
WebSocket connections must come from an allowed Origin (``ALLOWED_HOSTS``) and carry a
signed-in session; the consumer refuses anonymous and inactive users.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()

# Imported after Django is set up: the routes import models.
from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from config.server import leave_request_bodies_unparsed  # noqa: E402
from messaging.routing import websocket_urlpatterns  # noqa: E402
from vault.asgi import UploadLimitMiddleware  # noqa: E402

leave_request_bodies_unparsed()

application = ProtocolTypeRouter(
    {
        "http": UploadLimitMiddleware(django_asgi_app),
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
