from django.urls import path

from billing import views_online

app_name = "billing_online"

urlpatterns = [
    path("invoices/<str:invoice_id>/pay", views_online.invoice_pay, name="pay"),
    path("billing/stripe/webhook", views_online.stripe_webhook, name="stripe_webhook"),
]
