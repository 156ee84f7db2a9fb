from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "approvals"
    verbose_name = "Approvals and signatures"

    def ready(self) -> None:
        from approvals import events, receivers, signature_events
        from messaging import timeline
        from vault import signals

        timeline.register(*events.DECLARATIONS, *signature_events.DECLARATIONS)
        signals.version_added.connect(
            receivers.reopen_on_new_version, dispatch_uid="approvals.reopen_on_new_version"
        )
