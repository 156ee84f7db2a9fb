from django.apps import AppConfig


class ProjectsConfig(AppConfig):
    name = "projects"
    verbose_name = "Projects: plans, milestones and tasks"

    def ready(self) -> None:
        from approvals import signals as approvals_signals
        from messaging import timeline
        from projects import events, receivers
        from vault import signals as vault_signals

        timeline.register(*events.DECLARATIONS)
        vault_signals.document_changed.connect(
            receivers.on_document_changed, dispatch_uid="projects.on_document_changed"
        )
        approvals_signals.approval_closed.connect(
            receivers.on_approval_closed, dispatch_uid="projects.on_approval_closed"
        )
