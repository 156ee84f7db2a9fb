from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and access"

    def ready(self) -> None:
        from accounts import access_log
        from accounts.models import Matter
        from accounts.permissions import connect_receivers, register_privileged_model
        from accounts.services import sessions

        register_privileged_model(Matter)
        connect_receivers()
        access_log.connect_receivers()
        sessions.connect_receivers()
