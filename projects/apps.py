from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class ProjectsConfig(AppConfig):
    name = "projects"
    verbose_name = "Projects: plans, milestones and tasks"

    def ready(self) -> None:
        from accounts.models import ClientAccount, Matter
        from approvals import signals as approvals_signals
        from messaging import subscriptions, timeline
        from projects import digest, events, receivers, tasks
        from projects.models import Change, Milestone, Task
        from vault import signals as vault_signals

        timeline.register(*events.DECLARATIONS)
        vault_signals.document_changed.connect(
            receivers.on_document_changed, dispatch_uid="projects.on_document_changed"
        )
        approvals_signals.approval_closed.connect(
            receivers.on_approval_closed, dispatch_uid="projects.on_approval_closed"
        )
        # What the status pages keep of an account's plans follows every save of a row of
        # them, in the saving transaction (``projects.plan_versions``).
        for model in (Matter, Milestone, Task):
            post_save.connect(
                receivers.on_plan_row_saved,
                sender=model,
                dispatch_uid=f"projects.plan_saved.{model._meta.label_lower}",
            )
        post_delete.connect(
            receivers.on_matter_deleted, sender=Matter, dispatch_uid="projects.matter_deleted"
        )
        post_save.connect(
            receivers.on_account_saved, sender=ClientAccount, dispatch_uid="projects.account_saved"
        )
        subscriptions.register(digest.SUBSCRIPTION)
        # The first change to a plan starts the weekly status e-mail's cycle.
        post_save.connect(
            tasks.status_digest_arm_on_change, sender=Change, dispatch_uid="status_digest"
        )
