from django.urls import path

from support import api

urlpatterns = [
    path("tickets/categories", api.categories, name="categories"),
    path("tickets", api.tickets, name="tickets"),
    path("tickets/<str:ticket_id>", api.ticket, name="ticket"),
    path("tickets/<str:ticket_id>/replies", api.replies, name="replies"),
]
