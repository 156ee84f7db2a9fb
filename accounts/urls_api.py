from django.urls import path

from accounts import api

urlpatterns = [
    path("me", api.me, name="me"),
    path("me/password", api.me_password, name="me_password"),
]
