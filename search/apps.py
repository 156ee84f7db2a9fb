from django.apps import AppConfig


class SearchConfig(AppConfig):
    name = "search"
    verbose_name = "Search"

    def ready(self) -> None:
        from accounts import signals as accounts_signals
        from messaging import signals as messaging_signals
        from search import receivers
        from vault import signals as vault_signals

        messaging_signals.message_changed.connect(receivers.on_message_changed)
        vault_signals.document_changed.connect(receivers.on_document_changed)
        accounts_signals.matter_changed.connect(receivers.on_matter_changed)
        accounts_signals.person_changed.connect(receivers.on_person_changed)
