from django.apps import AppConfig


class SupportConfig(AppConfig):
    name = "support"
    verbose_name = "Support: tickets, routing and SLA clocks"

    def ready(self) -> None:
        from messaging import timeline
        from messaging.signals import message_changed
        from support import events, receivers

        timeline.register(*events.DECLARATIONS)
        # Replies however they arrive (the API, a socket's send) move the ticket's state.
        message_changed.connect(receivers.ticket_reply_arrived, dispatch_uid="support_reply")
