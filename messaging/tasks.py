"""Background tasks of the messaging app (run by ``manage.py db_worker``)."""

from django_tasks import task

from messaging import notifications


@task()
def send_digests() -> int:
    """E-mail the digests that are due."""
    return notifications.digests_send()
