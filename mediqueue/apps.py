from django.apps import AppConfig


class MediQueueConfig(AppConfig):
    """The project package is an app to host its management commands (run_demo, …), its static
    files and the admin site's branding."""

    name = "mediqueue"
    verbose_name = "MediQueue"

    def ready(self) -> None:
        from django.contrib import admin

        # The clinic's admin, not "Django administration". Without the navigation sidebar a
        # list keeps the whole width of a 1,280 px screen for its columns (the apps are one
        # click away on the index).
        admin.site.site_header = admin.site.site_title = "MediQueue admin"
        admin.site.index_title = "Clinic administration"
        admin.site.enable_nav_sidebar = False
