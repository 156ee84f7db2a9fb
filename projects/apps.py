from django.apps import AppConfig


class ProjectsConfig(AppConfig):
    name = "projects"
    verbose_name = "Projects: plans, milestones and tasks"

    def ready(self) -> None:
        from messaging import timeline
        from projects import events

        timeline.register(*events.DECLARATIONS)
