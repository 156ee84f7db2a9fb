from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing: invoices, payments and proposals"

    def ready(self) -> None:
        from billing import events
        from messaging import timeline

        timeline.register(*events.DECLARATIONS)
