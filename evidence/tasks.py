"""Background tasks of the evidence app (run by ``manage.py db_worker``)."""

from django_tasks import task

from evidence import checkpoints


@task()
def checkpoint_when_due() -> int | None:
    """Sign a checkpoint if one is due; the size it covers, or None."""
    made = checkpoints.checkpoint_when_due()
    return made.size if made is not None else None
