from django.urls import path

from evidence import views

app_name = "evidence"

urlpatterns = [
    path("verify.py", views.verifier_download, name="verifier"),
]
