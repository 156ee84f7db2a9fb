"""Background tasks of sealing (run by ``manage.py db_worker``, found by their path)."""

from django_tasks import task

from approvals.signing import completion


@task()
def signature_seal_retry(request_id: int, attempt: int) -> None:
    """Try again to seal a completed request whose sealing failed a minute ago."""
    completion.seal_soon(request_id, attempt)
