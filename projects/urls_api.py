from django.urls import path

from projects import api

urlpatterns = [
    path("matters", api.matters, name="matters"),
    path("matters/<str:matter_id>", api.matter, name="matter"),
    path("matters/<str:matter_id>/milestones", api.milestones, name="milestones"),
    path("matters/<str:matter_id>/tasks", api.tasks, name="tasks"),
    path("milestones/<str:milestone_id>", api.milestone, name="milestone"),
    path("tasks/<str:task_id>", api.task, name="task"),
    path("templates", api.templates, name="templates"),
]
