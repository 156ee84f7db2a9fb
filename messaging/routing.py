from django.urls import path

from messaging.consumers import PortalConsumer

websocket_urlpatterns = [
    path("ws/", PortalConsumer.as_asgi()),
]
