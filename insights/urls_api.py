from django.urls import path

from insights import api

urlpatterns = [
    path("metrics/adoption", api.adoption_metrics, name="adoption"),
]
