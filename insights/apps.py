from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "insights"
    verbose_name = "Insights: adoption metrics"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from insights import aggregates, receivers
        from messaging.signals import message_changed

        connection_created.connect(
            aggregates.sqlite_functions_register, dispatch_uid="insights.sqlite_percentile"
        )
        # An edit or a deletion of a past month's message drops that month's rollups.
        message_changed.connect(
            receivers.message_rollups_drop, dispatch_uid="insights.message_rollups_drop"
        )
