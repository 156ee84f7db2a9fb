from django.apps import AppConfig
from django.db.models.signals import post_save


class ProjectsConfig(AppConfig):
    name = "projects"
    verbose_name = "Projects: plans, milestones and tasks"

    def ready(self) -> None:
        from messaging import subscriptions, timeline
        from projects import digest, events, tasks
        from projects.models import Change

        timeline.register(*events.DECLARATIONS)
        subscriptions.register(digest.SUBSCRIPTION)
        # The first change to a plan starts the weekly status e-mail's cycle.
        post_save.connect(
            tasks.status_digest_arm_on_change, sender=Change, dispatch_uid="status_digest"
        )
