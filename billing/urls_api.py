from django.urls import path

from billing import api

urlpatterns = [
    path("invoices", api.invoices, name="invoices"),
    path("invoices/<str:invoice_id>", api.invoice, name="invoice"),
    path("invoices/<str:invoice_id>/pdf", api.invoice_pdf, name="pdf"),
    path("invoices/<str:invoice_id>/send", api.send, name="send"),
    path("invoices/<str:invoice_id>/void", api.void, name="void"),
    path("invoices/<str:invoice_id>/credit-notes", api.credit_notes, name="credit_notes"),
    path("billing/settings", api.billing_settings, name="settings"),
    path("accounts/<str:account_id>/billing", api.account_billing, name="account_billing"),
]
