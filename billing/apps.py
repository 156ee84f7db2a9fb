from django.apps import AppConfig
from django.db.models.signals import post_save


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing: invoices, payments and proposals"

    def ready(self) -> None:
        from billing import events
        from billing.models import Invoice
        from billing.services.reminders import reminders_arm_on_send
        from messaging import timeline

        timeline.register(*events.DECLARATIONS)
        # An invoice sent with a due date queues its payment reminders.
        post_save.connect(reminders_arm_on_send, sender=Invoice, dispatch_uid="invoice_reminders")
