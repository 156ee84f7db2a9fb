"""Background tasks of approvals (run by ``manage.py db_worker``)."""

from django_tasks import task

from approvals import services


@task()
def approvals_due() -> dict:
    """Send the due-date reminders and expire the requests that are due."""
    run = services.approvals_due_run()
    return {"reminded": run.reminded, "expired": run.expired}


@task()
def signatures_due() -> dict:
    """Remind those whose turn it is on signature requests due tomorrow."""
    return {"reminded": services.signatures_due_run()}
