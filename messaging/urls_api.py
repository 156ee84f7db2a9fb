from django.urls import path

from messaging import api

urlpatterns = [
    path("me/notifications", api.my_notifications, name="my_notifications"),
]
