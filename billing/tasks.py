"""Background tasks of billing (run by ``manage.py db_worker``)."""

from django_tasks import task

from billing.services.reminders import invoice_reminders_run


@task()
def invoice_reminders() -> dict:
    """Send the payment reminders that are due, before and after invoices' due dates."""
    run = invoice_reminders_run()
    return {"before": run.before, "after": run.after}
