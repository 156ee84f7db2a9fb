from django.urls import path

from evidence import api

urlpatterns = [
    path("key", api.key, name="key"),
]
