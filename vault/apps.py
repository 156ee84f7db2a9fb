from django.apps import AppConfig


class VaultConfig(AppConfig):
    name = "vault"
    verbose_name = "Document vault"

    def ready(self) -> None:
        from accounts import signals
        from accounts.permissions import register_privileged_model
        from messaging import timeline
        from vault import receivers
        from vault.models import Document
        from vault.timeline import DOCUMENT_ADDED, DOCUMENT_NOTICE

        register_privileged_model(Document)
        timeline.register(DOCUMENT_NOTICE, DOCUMENT_ADDED)
        signals.matter_access_changed.connect(receivers.follow_matter_access)
