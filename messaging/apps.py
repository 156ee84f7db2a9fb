from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = "Messaging"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_out

        from accounts import signals
        from accounts.permissions import register_privileged_model
        from messaging import matter_status, notifications, receivers, timeline
        from messaging.models import Thread

        register_privileged_model(Thread)
        timeline.register(
            timeline.MESSAGE_NEW,
            timeline.MESSAGE_EDITED,
            timeline.MESSAGE_DELETED,
            notifications.MENTION,
            matter_status.MATTER_STATUS,
        )
        signals.client_account_created.connect(receivers.open_general_thread)
        signals.access_reduced.connect(receivers.notify_access_reduced)
        signals.matter_access_changed.connect(receivers.follow_matter_access)
        signals.matter_status_changed.connect(matter_status.on_matter_status_changed)
        user_logged_out.connect(receivers.close_signed_out_sockets)
