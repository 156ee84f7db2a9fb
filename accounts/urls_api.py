from django.urls import path

from accounts import api

urlpatterns = [
    path("me", api.me, name="me"),
    path("accounts", api.accounts, name="accounts"),
    path("accounts/<str:account_id>", api.account, name="account"),
    path("accounts/<str:account_id>/people", api.account_people, name="account_people"),
    path(
        "accounts/<str:account_id>/people/<str:user_id>",
        api.account_person,
        name="account_person",
    ),
    path("accounts/<str:account_id>/team", api.account_team, name="account_team"),
    path(
        "accounts/<str:account_id>/team/<str:user_id>",
        api.account_team_member,
        name="account_team_member",
    ),
    path("me/password", api.me_password, name="me_password"),
]
