from django.apps import AppConfig


class MediQueueConfig(AppConfig):
    """The project package is an app only to host its management commands (run_demo, …)."""

    name = "mediqueue"
    verbose_name = "MediQueue"
