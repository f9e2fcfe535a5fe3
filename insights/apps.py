from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "insights"
    verbose_name = "Insights"

    def ready(self) -> None:
        # Registers the percentile aggregate on every new SQLite connection.
        from insights import sql  # noqa: F401 - imported for its connection hook
