from django.apps import AppConfig


class VaultConfig(AppConfig):
    name = "vault"
    verbose_name = "Document vault"

    def ready(self) -> None:
        from accounts import signals
        from accounts.permissions import register_privileged_model
        from vault import receivers
        from vault.models import Document

        register_privileged_model(Document)
        signals.matter_access_changed.connect(receivers.follow_matter_access)
