from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = "Incidents"

    def ready(self):
        # Registers the percentile aggregate on every new SQLite connection.
        from incidents.insights import sql  # noqa: F401 - imported for its connection hook
