from django.apps import AppConfig
from django.db.models.signals import post_save


class ProjectsConfig(AppConfig):
    name = "projects"
    verbose_name = "Projects: plans, milestones and tasks"

    def ready(self) -> None:
        from approvals import signals as approvals_signals
        from messaging import subscriptions, timeline
        from projects import digest, events, receivers, tasks
        from projects.models import Change
        from vault import signals as vault_signals

        timeline.register(*events.DECLARATIONS)
        vault_signals.document_changed.connect(
            receivers.on_document_changed, dispatch_uid="projects.on_document_changed"
        )
        approvals_signals.approval_closed.connect(
            receivers.on_approval_closed, dispatch_uid="projects.on_approval_closed"
        )
        subscriptions.register(digest.SUBSCRIPTION)
        # The first change to a plan starts the weekly status e-mail's cycle.
        post_save.connect(
            tasks.status_digest_arm_on_change, sender=Change, dispatch_uid="status_digest"
        )
