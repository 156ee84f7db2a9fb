from django.urls import path

from billing import api_payments

urlpatterns = [
    path("invoices/<str:invoice_id>/payments", api_payments.payments, name="payments"),
]
