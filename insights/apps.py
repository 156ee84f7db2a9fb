from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "insights"
    verbose_name = "Insights: adoption metrics"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from insights import aggregates, receivers  # noqa: F401

        connection_created.connect(
            aggregates.sqlite_functions_register, dispatch_uid="insights.sqlite_percentile"
        )
